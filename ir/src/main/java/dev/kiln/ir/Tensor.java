package dev.kiln.ir;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * An immutable host tensor: dtype, static shape and little-endian element storage (one element per
 * {@link DType#storageBytes()}; sub-byte types unpacked, one per byte; bool as 0/1). Strings are held as a
 * {@code String[]}. Equality is by content. This is what the reference interpreter computes on and what
 * constants in the IR hold.
 */
public final class Tensor {
    /** Host tensors are Java arrays: at most this many elements (and bytes). */
    public static final long MAX_ELEMENTS = Integer.MAX_VALUE - 16;

    private static final VarHandle I16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle I32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle I64 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private final DType dtype;
    private final long[] shape;
    private final byte[] data;     // null for strings
    private final String[] strings; // null unless STRING
    private final int numel;
    private int hash; // 0: not computed yet (racy but benign: every thread computes the same value)

    private Tensor(DType dtype, long[] shape, byte[] data, String[] strings) {
        this.dtype = dtype;
        this.shape = shape.clone();
        this.numel = checkedNumel(shape);
        this.data = data;
        this.strings = strings;
        long want = (long) numel * dtype.storageBytes();
        if (dtype.isString() ? strings.length != numel : data.length != want)
            throw new InvalidModelException("tensor payload holds " + (dtype.isString() ? strings.length : data.length)
                    + (dtype.isString() ? " strings" : " bytes") + " but " + dtype + Arrays.toString(shape)
                    + " needs " + (dtype.isString() ? numel : want));
    }

    /** Element count of a shape, with overflow and size checks (a typed error, never an OutOfMemoryError). */
    public static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new InvalidModelException("negative dimension in shape " + Arrays.toString(shape));
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException e) {
                throw new InvalidModelException("shape " + Arrays.toString(shape) + " overflows 64-bit element count");
            }
        }
        return n;
    }

    private static int checkedNumel(long[] shape) {
        long n = numel(shape);
        if (n > MAX_ELEMENTS)
            throw new InvalidModelException("tensor of shape " + Arrays.toString(shape) + " (" + n
                    + " elements) is too large for a host tensor (limit " + MAX_ELEMENTS + ")");
        return (int) n;
    }

    // ---- construction ----

    /** Wraps raw storage bytes (copied). */
    public static Tensor ofBytes(DType dtype, long[] shape, byte[] storage) {
        if (dtype.isString()) throw new IllegalArgumentException("use ofStrings for strings");
        return new Tensor(dtype, shape, storage.clone(), null);
    }

    /**
     * Wraps raw storage bytes without copying them: the tensor takes the array over, and the caller must never
     * change it again. For importers and converters of large weights, where a copy per step would cost
     * gigabytes; everyone else uses {@link #ofBytes}.
     */
    public static Tensor adopt(DType dtype, long[] shape, byte[] storage) {
        if (dtype.isString()) throw new IllegalArgumentException("use ofStrings for strings");
        return new Tensor(dtype, shape, storage, null);
    }

    public static Tensor ofStrings(long[] shape, String[] values) { return new Tensor(DType.STRING, shape, null, values.clone()); }

    public static Tensor zeros(DType dtype, long[] shape) {
        if (dtype.isString()) {
            String[] s = new String[checkedNumel(shape)];
            Arrays.fill(s, "");
            return new Tensor(dtype, shape, null, s);
        }
        return new Tensor(dtype, shape, new byte[checkedNumel(shape) * dtype.storageBytes()], null);
    }

    /** Encodes doubles into {@code dtype}: floats round to nearest even, integers truncate toward zero then wrap. */
    public static Tensor ofDoubles(DType dtype, long[] shape, double[] v) {
        Tensor t = zeros(dtype, shape);
        if (v.length != t.numel) throw new IllegalArgumentException("have " + v.length + " values for " + t.numel);
        for (int i = 0; i < v.length; i++) t.setDouble(i, v[i]);
        return t;
    }

    /** Encodes longs into {@code dtype}: integers wrap to the type's width, floats convert. */
    public static Tensor ofLongs(DType dtype, long[] shape, long[] v) {
        Tensor t = zeros(dtype, shape);
        if (v.length != t.numel) throw new IllegalArgumentException("have " + v.length + " values for " + t.numel);
        for (int i = 0; i < v.length; i++) t.setLong(i, v[i]);
        return t;
    }

    public static Tensor ofBools(long[] shape, boolean[] v) {
        Tensor t = zeros(DType.BOOL, shape);
        for (int i = 0; i < v.length; i++) t.data[i] = (byte) (v[i] ? 1 : 0);
        return t;
    }

    public static Tensor scalar(DType dtype, double v) { return ofDoubles(dtype, new long[0], new double[] {v}); }
    public static Tensor scalarLong(DType dtype, long v) { return ofLongs(dtype, new long[0], new long[] {v}); }
    public static Tensor vector(long... v) { return ofLongs(DType.I64, new long[] {v.length}, v); }
    public static Tensor f32(long[] shape, double... v) { return ofDoubles(DType.F32, shape, v); }

    // ---- access ----

    public DType dtype() { return dtype; }
    public long[] shape() { return shape.clone(); }
    public int rank() { return shape.length; }
    public long dim(int i) { return shape[i]; }
    public int numel() { return numel; }
    public TensorType type() { return TensorType.of(dtype, shape); }

    /** A copy of the raw storage bytes. */
    public byte[] storage() {
        if (dtype.isString()) throw new IllegalStateException("string tensors have no byte storage");
        return data.clone();
    }

    /** The bytes of the storage. */
    public int storageBytes() {
        if (dtype.isString()) throw new IllegalStateException("string tensors have no byte storage");
        return data.length;
    }

    /** Copies the raw storage into {@code dst} at {@code offset}, without an intermediate copy. */
    public void copyStorageTo(byte[] dst, int offset) {
        if (dtype.isString()) throw new IllegalStateException("string tensors have no byte storage");
        System.arraycopy(data, 0, dst, offset, data.length);
    }

    /** Same data, new shape of equal element count (no copy: tensors are immutable). */
    public Tensor reshape(long[] newShape) {
        if (numel(newShape) != numel)
            throw new ShapeException("cannot reshape " + dtype + Arrays.toString(shape) + " to " + Arrays.toString(newShape));
        return new Tensor(dtype, newShape, data, strings);
    }

    public String getString(int i) {
        if (!dtype.isString()) throw new IllegalStateException("not a string tensor: " + dtype);
        return strings[i];
    }

    public String[] toStrings() { return strings == null ? null : strings.clone(); }

    /** Element i as a double (unsigned 64-bit values convert as unsigned). */
    public double getDouble(int i) {
        return switch (dtype) {
            case F32 -> Float.intBitsToFloat((int) I32.get(data, i * 4));
            case F64 -> Double.longBitsToDouble((long) I64.get(data, i * 8));
            case F16, BF16 -> FloatFormats.decode(dtype, (short) I16.get(data, i * 2) & 0xFFFF);
            case F8E4M3FN, F8E4M3FNUZ, F8E5M2, F8E5M2FNUZ, F8E8M0, F4E2M1 -> FloatFormats.decode(dtype, data[i] & 0xFF);
            case U64 -> {
                long l = (long) I64.get(data, i * 8);
                yield l >= 0 ? (double) l : ((double) (l >>> 1)) * 2.0 + (l & 1);
            }
            case STRING -> throw new IllegalStateException("string tensor has no numeric value");
            default -> getLong(i);
        };
    }

    /** Element i of an f32 tensor, with no dispatch on the dtype (for loops over hundreds of millions of weights). */
    public float getFloat(int i) {
        if (dtype != DType.F32) throw new IllegalStateException("getFloat on a " + dtype.textName() + " tensor");
        return Float.intBitsToFloat((int) I32.get(data, i * 4));
    }

    /** Element i as a long: integers sign- or zero-extended (u64 as its bit pattern), floats truncated toward zero. */
    public long getLong(int i) {
        return switch (dtype) {
            case I8, I4, I2 -> data[i];
            case U8, U4, U2, BOOL -> data[i] & 0xFF;
            case I16 -> (short) I16.get(data, i * 2);
            case U16 -> (short) I16.get(data, i * 2) & 0xFFFF;
            case I32 -> (int) I32.get(data, i * 4);
            case U32 -> (int) I32.get(data, i * 4) & 0xFFFFFFFFL;
            case I64, U64 -> (long) I64.get(data, i * 8);
            case STRING -> throw new IllegalStateException("string tensor has no numeric value");
            default -> (long) getDouble(i);
        };
    }

    public boolean getBool(int i) {
        return dtype.isFloat() ? getDouble(i) != 0 : getLong(i) != 0;
    }

    /** The raw storage bits of element i (for bit-exact comparison of narrow types). */
    public long getBits(int i) {
        return switch (dtype.storageBytes()) {
            case 1 -> data[i] & 0xFF;
            case 2 -> (short) I16.get(data, i * 2) & 0xFFFF;
            case 4 -> (int) I32.get(data, i * 4) & 0xFFFFFFFFL;
            default -> (long) I64.get(data, i * 8);
        };
    }

    public double[] toDoubles() {
        double[] r = new double[numel];
        for (int i = 0; i < numel; i++) r[i] = getDouble(i);
        return r;
    }

    public long[] toLongs() {
        long[] r = new long[numel];
        for (int i = 0; i < numel; i++) r[i] = getLong(i);
        return r;
    }

    // ---- encoding (only during construction: tensors are never changed once returned) ----

    private void setDouble(int i, double v) {
        switch (dtype) {
            case F32 -> I32.set(data, i * 4, Float.floatToRawIntBits((float) v));
            case F64 -> I64.set(data, i * 8, Double.doubleToRawLongBits(v));
            case F16, BF16 -> I16.set(data, i * 2, (short) FloatFormats.encode(dtype, v, false));
            case F8E4M3FN, F8E4M3FNUZ, F8E5M2, F8E5M2FNUZ, F8E8M0, F4E2M1 -> data[i] = (byte) FloatFormats.encode(dtype, v, false);
            case BOOL -> data[i] = (byte) (v != 0 ? 1 : 0);
            case U64 -> setLong(i, v >= 0x1p63 ? (long) (v - 0x1p63) + Long.MIN_VALUE : (long) v);
            case STRING -> throw new IllegalStateException("string tensor has no numeric value");
            default -> setLong(i, (long) v);
        }
    }

    private void setLong(int i, long v) {
        switch (dtype) {
            case I8, U8 -> data[i] = (byte) v;
            case I4 -> data[i] = (byte) ((v << 60) >> 60);
            case U4 -> data[i] = (byte) (v & 0xF);
            case I2 -> data[i] = (byte) ((v << 62) >> 62);
            case U2 -> data[i] = (byte) (v & 0x3);
            case BOOL -> data[i] = (byte) (v != 0 ? 1 : 0);
            case I16, U16 -> I16.set(data, i * 2, (short) v);
            case I32, U32 -> I32.set(data, i * 4, (int) v);
            case I64, U64 -> I64.set(data, i * 8, v);
            case STRING -> throw new IllegalStateException("string tensor has no numeric value");
            default -> setDouble(i, v);
        }
    }

    // ---- identity ----

    @Override public boolean equals(Object o) {
        return o instanceof Tensor t && t.dtype == dtype && Arrays.equals(t.shape, shape)
                && Arrays.equals(t.data, data) && Arrays.equals(t.strings, strings);
    }

    /**
     * Hashes dtype, shape and at most {@value #HASHED_ELEMENTS} elements spread over the tensor, computed once:
     * passes hash every constant (cse keys nodes by their attributes), and reading a gigabyte of weights per pass
     * would make them cost more than the rest of the compile. Equal tensors still hash alike; {@link #equals}
     * compares everything (and stops at the first difference, which for distinct weights comes early).
     */
    @Override public int hashCode() {
        int h = hash;
        if (h == 0) {
            h = 31 * dtype.hashCode() + Arrays.hashCode(shape);
            int step = Math.max(1, numel / HASHED_ELEMENTS);
            for (int i = 0; i < numel; i += step)
                h = 31 * h + (data != null ? Long.hashCode(getBits(i)) : strings[i].hashCode());
            if (h == 0) h = 1;
            hash = h;
        }
        return h;
    }

    static final int HASHED_ELEMENTS = 256;

    @Override public String toString() {
        StringBuilder b = new StringBuilder(dtype + Arrays.toString(shape) + " ");
        int n = Math.min(numel, 8);
        b.append('[');
        for (int i = 0; i < n; i++) {
            if (i > 0) b.append(", ");
            b.append(dtype.isString() ? '"' + strings[i] + '"' : dtype.isFloat() ? Double.toString(getDouble(i)) : Long.toString(getLong(i)));
        }
        if (numel > n) b.append(", ...");
        return b.append(']').toString();
    }

    /** Content hash for caches and manifests (hex SHA-256 of dtype, shape and storage). */
    public String contentHash() {
        try {
            var md = java.security.MessageDigest.getInstance("SHA-256");
            md.update(dtype.textName().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            md.update(Arrays.toString(shape).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            if (data != null) md.update(data);
            else for (String s : strings) md.update((s + "\0").getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
