package dev.kiln.frontend;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.kiln.frontend.proto.Onnx.TensorProto;
import dev.kiln.ir.DType;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.KilnException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.UnsupportedException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * TensorProto <-> {@link Tensor}. Decoding accepts every encoding ONNX allows: {@code raw_data} (little-endian,
 * 4-bit types two per byte low nibble first, 2-bit types four per byte low bits first), the typed fields
 * ({@code int32_data} also carries f16/bf16/f8 bit patterns and packed 4/2-bit values) and external files.
 * The payload size is checked against the shape before anything is allocated. Encoding always writes
 * {@code raw_data} (strings: {@code string_data}).
 */
public final class TensorCodec {
    private TensorCodec() {}

    /** Decodes a tensor held entirely in the message (no external data). */
    public static Tensor decode(TensorProto p) { return decode(p, null); }

    /**
     * @param baseDir the model's folder, against which external data locations resolve; null when the model
     *                came from bytes (external data is then an error)
     */
    public static Tensor decode(TensorProto p, Path baseDir) {
        String what = "tensor '" + p.getName() + "'";
        DType dtype = dtypeOf(p.getDataType(), what);
        long[] shape = new long[p.getDimsCount()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = p.getDims(i);
            if (shape[i] < 0) throw new InvalidModelException(what + " has negative dimension " + shape[i]
                    + " in " + p.getDimsList() + "; fix the exporter that wrote it");
        }
        long numel;
        try {
            numel = Tensor.numel(shape);
        } catch (KilnException e) {
            throw new InvalidModelException(what + ": " + e.detail());
        }
        if (numel > Tensor.MAX_ELEMENTS)
            throw new InvalidModelException(what + " of shape " + Arrays.toString(shape) + " has " + numel
                    + " elements, more than a host tensor holds (" + Tensor.MAX_ELEMENTS + ")");
        if (p.hasSegment())
            throw new UnsupportedException(what + " is a segment of a larger tensor; segmented tensors are not "
                    + "supported, re-save the model with whole tensors");
        int n = (int) numel;
        boolean external = p.getDataLocation() == TensorProto.DataLocation.EXTERNAL;
        if (dtype.isString()) {
            if (external || p.hasRawData())
                throw new InvalidModelException(what + " is a string tensor but stores data outside string_data");
            if (p.getStringDataCount() != n) throw sizeError(what, dtype, shape, p.getStringDataCount() + " strings in string_data", n + " strings");
            String[] s = new String[n];
            for (int i = 0; i < n; i++) s[i] = p.getStringData(i).toString(StandardCharsets.UTF_8);
            return Tensor.ofStrings(shape, s);
        }
        long rawBytes = packedBytes(dtype, n);
        if (external) return fromRaw(dtype, shape, n, ExternalData.read(p, baseDir, rawBytes, what), what);
        if (p.hasRawData()) return fromRaw(dtype, shape, n, p.getRawData().toByteArray(), what);
        return fromTyped(p, dtype, shape, n, what);
    }

    /** The DType of an ONNX DataType code; {@code what} names the tensor or value in errors. */
    static DType dtypeOf(int code, String what) {
        if (code == 0) throw new InvalidModelException(what + " has no data_type (UNDEFINED); set its element type");
        if (code == 14 || code == 15)
            throw new UnsupportedException(what + " is complex (ONNX type " + code + "); complex tensors are not supported");
        if (code < 0 || code > 26)
            throw new InvalidModelException(what + " has unknown data_type code " + code + " (valid codes are 1 to 26)");
        return DType.fromOnnx(code);
    }

    /** Bytes {@code n} elements take packed on the wire. */
    static long packedBytes(DType t, long n) {
        return switch (t.bits()) {
            case 4 -> (n + 1) / 2;
            case 2 -> (n + 3) / 4;
            default -> n * (t.bits() / 8);
        };
    }

    private static InvalidModelException sizeError(String what, DType t, long[] shape, String have, String want) {
        return new InvalidModelException(what + " holds " + have + " but " + t + Arrays.toString(shape) + " needs "
                + want + "; the payload does not match the shape, re-export the model");
    }

    private static Tensor fromRaw(DType t, long[] shape, int n, byte[] raw, String what) {
        long want = packedBytes(t, n);
        if (raw.length != want) throw sizeError(what, t, shape, raw.length + " bytes of raw data", want + " bytes");
        // raw is this call's own array (copied out of the message): the tensor takes it over, no second copy
        return switch (t.bits()) {
            case 4, 2 -> Tensor.adopt(t, shape, unpack(t, n, raw));
            default -> {
                if (t.isBool()) for (int i = 0; i < raw.length; i++) raw[i] = (byte) (raw[i] != 0 ? 1 : 0);
                yield Tensor.adopt(t, shape, raw);
            }
        };
    }

    /** Unpacks sub-byte elements, first element in the lowest bits, into one byte each (signed types sign-extended). */
    private static byte[] unpack(DType t, int n, byte[] packed) {
        int bits = t.bits(), perByte = 8 / bits, mask = (1 << bits) - 1;
        byte[] out = new byte[n];
        for (int i = 0; i < n; i++) {
            int v = (packed[i / perByte] >> (bits * (i % perByte))) & mask;
            if (t.isSigned()) v = (v << (32 - bits)) >> (32 - bits);
            out[i] = (byte) v;
        }
        return out;
    }

    private static Tensor fromTyped(TensorProto p, DType t, long[] shape, int n, String what) {
        switch (t) {
            case F32 -> {
                check(p.getFloatDataCount(), n, "float_data", t, shape, what);
                double[] v = new double[n];
                for (int i = 0; i < n; i++) v[i] = p.getFloatData(i);
                return Tensor.ofDoubles(t, shape, v);
            }
            case F64 -> {
                check(p.getDoubleDataCount(), n, "double_data", t, shape, what);
                double[] v = new double[n];
                for (int i = 0; i < n; i++) v[i] = p.getDoubleData(i);
                return Tensor.ofDoubles(t, shape, v);
            }
            case I64 -> {
                check(p.getInt64DataCount(), n, "int64_data", t, shape, what);
                return Tensor.ofLongs(t, shape, toArray(p.getInt64DataList(), n));
            }
            case U32, U64 -> {
                check(p.getUint64DataCount(), n, "uint64_data", t, shape, what);
                return Tensor.ofLongs(t, shape, toArray(p.getUint64DataList(), n));
            }
            case I4, U4, F4E2M1, I2, U2 -> {
                // int32_data entries each hold one byte of the packed form
                long want = packedBytes(t, n);
                check(p.getInt32DataCount(), want, "int32_data", t, shape, what);
                byte[] packed = new byte[(int) want];
                for (int i = 0; i < packed.length; i++) packed[i] = (byte) p.getInt32Data(i);
                return Tensor.ofBytes(t, shape, unpack(t, n, packed));
            }
            case STRING -> throw new IllegalStateException("strings are decoded elsewhere");
            default -> {
                // i8/u8/i16/u16/i32/bool values, and the bit patterns of f16/bf16/f8 (one per entry)
                check(p.getInt32DataCount(), n, "int32_data", t, shape, what);
                int w = t.storageBytes();
                ByteBuffer b = ByteBuffer.allocate(n * w).order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < n; i++) {
                    int v = p.getInt32Data(i);
                    switch (w) {
                        case 1 -> b.put((byte) (t.isBool() ? (v != 0 ? 1 : 0) : v));
                        case 2 -> b.putShort((short) v);
                        default -> b.putInt(v);
                    }
                }
                return Tensor.ofBytes(t, shape, b.array());
            }
        }
    }

    private static void check(int have, long want, String field, DType t, long[] shape, String what) {
        if (have != want) throw sizeError(what, t, shape, have + " values in " + field, want);
    }

    private static InvalidModelException sizeError(String what, DType t, long[] shape, String have, long want) {
        return sizeError(what, t, shape, have, want + " values");
    }

    private static long[] toArray(List<Long> l, int n) {
        long[] r = new long[n];
        for (int i = 0; i < n; i++) r[i] = l.get(i);
        return r;
    }

    // ---- encoding ----

    /** The tensor as a TensorProto with {@code raw_data} (or {@code string_data} for strings). */
    public static TensorProto encode(Tensor t, String name) {
        TensorProto.Builder b = TensorProto.newBuilder().setDataType(t.dtype().onnxCode());
        if (name != null && !name.isEmpty()) b.setName(name);
        for (long d : t.shape()) b.addDims(d);
        if (t.dtype().isString()) {
            for (int i = 0; i < t.numel(); i++) b.addStringData(ByteString.copyFromUtf8(t.getString(i)));
            return b.build();
        }
        byte[] s = t.storage();
        int bits = t.dtype().bits();
        if (bits == 4 || bits == 2) {
            int perByte = 8 / bits, mask = (1 << bits) - 1;
            byte[] packed = new byte[(int) packedBytes(t.dtype(), t.numel())];
            for (int i = 0; i < s.length; i++) packed[i / perByte] |= (byte) ((s[i] & mask) << (bits * (i % perByte)));
            s = packed;
        }
        return b.setRawData(ByteString.copyFrom(s)).build();
    }

    public static byte[] encodeBytes(Tensor t, String name) { return encode(t, name).toByteArray(); }

    // ---- test-data .pb files ----

    /** Reads a serialized TensorProto file (test data {@code input_K.pb}); external data resolves next to it. */
    public static Tensor readFile(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException | OutOfMemoryError e) {
            throw new InvalidModelException("cannot read tensor file " + file + ": " + e.getMessage(), e);
        }
        return parse(bytes, file.toString(), file.toAbsolutePath().getParent());
    }

    /** Parses a serialized TensorProto; {@code source} names it in errors. */
    public static Tensor parse(byte[] bytes, String source, Path baseDir) {
        TensorProto p;
        try {
            p = TensorProto.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new InvalidModelException(source + " is not a valid serialized TensorProto (" + e.getMessage() + ")", e);
        }
        try {
            return decode(p, baseDir);
        } catch (KilnException e) {
            throw e.withContext(source, null, null);
        }
    }

    /** Writes a tensor as a serialized TensorProto file. */
    public static void writeFile(Path file, Tensor t, String name) {
        try {
            Files.write(file, encodeBytes(t, name));
        } catch (IOException e) {
            throw new KilnException("cannot write tensor file " + file + ": " + e.getMessage(), e);
        }
    }
}
