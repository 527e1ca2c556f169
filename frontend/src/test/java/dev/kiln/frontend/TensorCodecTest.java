package dev.kiln.frontend;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import dev.kiln.frontend.proto.Onnx.TensorProto;
import dev.kiln.ir.DType;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.KilnException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.UnsupportedException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class TensorCodecTest {
    private static TensorProto.Builder t(DType d, long... dims) {
        TensorProto.Builder b = TensorProto.newBuilder().setName("w").setDataType(d.onnxCode());
        for (long x : dims) b.addDims(x);
        return b;
    }

    private static ByteString le(int width, long... v) {
        ByteBuffer b = ByteBuffer.allocate(width * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long x : v) switch (width) {
            case 1 -> b.put((byte) x);
            case 2 -> b.putShort((short) x);
            case 4 -> b.putInt((int) x);
            default -> b.putLong(x);
        }
        return ByteString.copyFrom(b.array());
    }

    @Test void rawDataOfEveryFixedWidthType() {
        assertArrayEquals(new double[] {1.5, -2}, TensorCodec.decode(t(DType.F32, 2)
                .setRawData(le(4, Float.floatToIntBits(1.5f), Float.floatToIntBits(-2f))).build()).toDoubles());
        assertArrayEquals(new double[] {0.1}, TensorCodec.decode(t(DType.F64, 1)
                .setRawData(le(8, Double.doubleToLongBits(0.1))).build()).toDoubles());
        assertArrayEquals(new long[] {-1, Long.MAX_VALUE}, TensorCodec.decode(t(DType.I64, 2).setRawData(le(8, -1, Long.MAX_VALUE)).build()).toLongs());
        assertArrayEquals(new long[] {-7, 70000}, TensorCodec.decode(t(DType.I32, 2).setRawData(le(4, -7, 70000)).build()).toLongs());
        assertArrayEquals(new long[] {-2, 300}, TensorCodec.decode(t(DType.I16, 2).setRawData(le(2, -2, 300)).build()).toLongs());
        assertArrayEquals(new long[] {65535}, TensorCodec.decode(t(DType.U16, 1).setRawData(le(2, 0xFFFF)).build()).toLongs());
        assertArrayEquals(new long[] {-128, 127}, TensorCodec.decode(t(DType.I8, 2).setRawData(le(1, 0x80, 0x7F)).build()).toLongs());
        assertArrayEquals(new long[] {255, 0}, TensorCodec.decode(t(DType.U8, 2).setRawData(le(1, 0xFF, 0)).build()).toLongs());
        assertArrayEquals(new long[] {4294967295L}, TensorCodec.decode(t(DType.U32, 1).setRawData(le(4, 0xFFFFFFFFL)).build()).toLongs());
        assertArrayEquals(new long[] {-1L}, TensorCodec.decode(t(DType.U64, 1).setRawData(le(8, -1L)).build()).toLongs()); // bit pattern 2^64-1
        // bool: any non-zero byte is true and is stored as 1
        Tensor b = TensorCodec.decode(t(DType.BOOL, 3).setRawData(le(1, 0, 1, 7)).build());
        assertArrayEquals(new long[] {0, 1, 1}, b.toLongs());
        // f16 0x3C00 = 1.0, 0xC000 = -2.0; bf16 0x3F80 = 1.0; f8e4m3fn 0x38 = 1.0 (exp 7 = bias)
        assertArrayEquals(new double[] {1.0, -2.0}, TensorCodec.decode(t(DType.F16, 2).setRawData(le(2, 0x3C00, 0xC000)).build()).toDoubles());
        assertArrayEquals(new double[] {1.0}, TensorCodec.decode(t(DType.BF16, 1).setRawData(le(2, 0x3F80)).build()).toDoubles());
        assertArrayEquals(new double[] {1.0}, TensorCodec.decode(t(DType.F8E4M3FN, 1).setRawData(le(1, 0x38)).build()).toDoubles());
    }

    @Test void typedFields() {
        assertArrayEquals(new double[] {0.25, -3}, TensorCodec.decode(t(DType.F32, 2).addFloatData(0.25f).addFloatData(-3f).build()).toDoubles());
        assertArrayEquals(new double[] {1e300}, TensorCodec.decode(t(DType.F64, 1).addDoubleData(1e300).build()).toDoubles());
        assertArrayEquals(new long[] {Long.MIN_VALUE, 5}, TensorCodec.decode(t(DType.I64, 2).addInt64Data(Long.MIN_VALUE).addInt64Data(5).build()).toLongs());
        assertArrayEquals(new long[] {4000000000L}, TensorCodec.decode(t(DType.U32, 1).addUint64Data(4000000000L).build()).toLongs());
        assertArrayEquals(new long[] {-2L}, TensorCodec.decode(t(DType.U64, 1).addUint64Data(-2L).build()).toLongs());
        assertArrayEquals(new long[] {-5, 100}, TensorCodec.decode(t(DType.I8, 2).addInt32Data(-5).addInt32Data(100).build()).toLongs());
        assertArrayEquals(new long[] {200}, TensorCodec.decode(t(DType.U8, 1).addInt32Data(200).build()).toLongs());
        assertArrayEquals(new long[] {-300}, TensorCodec.decode(t(DType.I16, 1).addInt32Data(-300).build()).toLongs());
        assertArrayEquals(new long[] {60000}, TensorCodec.decode(t(DType.U16, 1).addInt32Data(60000).build()).toLongs());
        assertArrayEquals(new long[] {123456789}, TensorCodec.decode(t(DType.I32, 1).addInt32Data(123456789).build()).toLongs());
        assertArrayEquals(new long[] {1, 0}, TensorCodec.decode(t(DType.BOOL, 2).addInt32Data(5).addInt32Data(0).build()).toLongs());
        // bit patterns of narrow floats in int32_data, one per entry
        assertArrayEquals(new double[] {1.0, 0.5}, TensorCodec.decode(t(DType.F16, 2).addInt32Data(0x3C00).addInt32Data(0x3800).build()).toDoubles());
        assertArrayEquals(new double[] {-1.0}, TensorCodec.decode(t(DType.BF16, 1).addInt32Data(0xBF80).build()).toDoubles());
        assertArrayEquals(new double[] {1.0}, TensorCodec.decode(t(DType.F8E5M2, 1).addInt32Data(0x3C).build()).toDoubles()); // exp 15 = bias
        Tensor s = TensorCodec.decode(t(DType.STRING, 2).addStringData(ByteString.copyFromUtf8("héllo")).addStringData(ByteString.EMPTY).build());
        assertEquals("héllo", s.getString(0));
        assertEquals("", s.getString(1));
    }

    @Test void subByteTypesPackLowBitsFirst() {
        // int4 [-8, 7, -1]: nibbles 8, 7, F -> bytes 0x78, 0x0F (high nibble of the last byte is padding)
        ByteString four = le(1, 0x78, 0x0F);
        assertArrayEquals(new long[] {-8, 7, -1}, TensorCodec.decode(t(DType.I4, 3).setRawData(four).build()).toLongs());
        assertArrayEquals(new long[] {8, 7, 15}, TensorCodec.decode(t(DType.U4, 3).setRawData(four).build()).toLongs());
        assertArrayEquals(new long[] {8, 7, 15}, TensorCodec.decode(t(DType.U4, 3).addInt32Data(0x78).addInt32Data(0x0F).build()).toLongs());
        // float4e2m1: 0b0010 = 1.0, 0b0111 = 6.0 (2^2 * 1.5), 0b1001 = -0.5 (subnormal)
        assertArrayEquals(new double[] {1.0, 6.0, -0.5}, TensorCodec.decode(t(DType.F4E2M1, 3).setRawData(le(1, 0x72, 0x09)).build()).toDoubles());
        // int2 [1, -2, -1, 0, 1]: 01, 10, 11, 00 -> 0b00111001 = 0x39; then 01
        ByteString two = le(1, 0x39, 0x01);
        assertArrayEquals(new long[] {1, -2, -1, 0, 1}, TensorCodec.decode(t(DType.I2, 5).setRawData(two).build()).toLongs());
        assertArrayEquals(new long[] {1, 2, 3, 0, 1}, TensorCodec.decode(t(DType.U2, 5).setRawData(two).build()).toLongs());
        assertArrayEquals(new long[] {1, -2, -1, 0, 1}, TensorCodec.decode(t(DType.I2, 5).addInt32Data(0x39).addInt32Data(1).build()).toLongs());
        // the encoder writes the same packing
        assertEquals(four, TensorCodec.encode(Tensor.ofLongs(DType.I4, new long[] {3}, new long[] {-8, 7, -1}), "x").getRawData());
        assertEquals(two, TensorCodec.encode(Tensor.ofLongs(DType.I2, new long[] {5}, new long[] {1, -2, -1, 0, 1}), "x").getRawData());
    }

    /** Writes field 1 (dims) and the float_data/int64_data fields one record per element, as proto2 writers may. */
    @Test void unpackedAndPackedRepeatedFieldsDecodeAlike() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        CodedOutputStream o = CodedOutputStream.newInstance(bytes);
        o.writeInt64(1, 2); // dims, unpacked
        o.writeInt32(2, DType.F32.onnxCode());
        o.writeFloat(4, 1.5f); // float_data, unpacked (wire type 5 per element)
        o.writeFloat(4, -1f);
        o.flush();
        TensorProto unpacked = TensorProto.parseFrom(bytes.toByteArray());
        TensorProto packed = t(DType.F32, 2).clearName().addFloatData(1.5f).addFloatData(-1f).build();
        assertEquals(TensorCodec.decode(packed), TensorCodec.decode(unpacked));
        assertArrayEquals(new double[] {1.5, -1}, TensorCodec.decode(unpacked).toDoubles());

        bytes.reset();
        o = CodedOutputStream.newInstance(bytes);
        o.writeInt64(1, 3);
        o.writeInt32(2, DType.I64.onnxCode());
        for (long v : new long[] {-1, 0, 1L << 40}) o.writeInt64(7, v);
        o.flush();
        assertArrayEquals(new long[] {-1, 0, 1L << 40}, TensorCodec.decode(TensorProto.parseFrom(bytes.toByteArray())).toLongs());
    }

    @Test void emptyAndScalarTensors() {
        assertEquals(0, TensorCodec.decode(t(DType.F32, 0, 3).build()).numel());
        assertArrayEquals(new double[] {2}, TensorCodec.decode(t(DType.F32).addFloatData(2f).build()).toDoubles());
    }

    @Test void payloadNotMatchingShapeIsATypedErrorNamingTheTensor() {
        for (TensorProto bad : List.of(
                t(DType.F32, 3).setRawData(le(4, 1, 2)).build(),
                t(DType.F32, 3).addFloatData(1).build(),
                t(DType.I64, 1).build(),
                t(DType.I4, 3).setRawData(le(1, 1)).build(),
                t(DType.U4, 4).addInt32Data(1).build(),
                t(DType.STRING, 2).addStringData(ByteString.EMPTY).build(),
                t(DType.STRING, 1).setRawData(ByteString.copyFromUtf8("x")).build())) {
            InvalidModelException e = assertThrows(InvalidModelException.class, () -> TensorCodec.decode(bad));
            assertTrue(e.getMessage().contains("'w'"), e.getMessage());
        }
    }

    @Test void badTypesAndDims() {
        assertThrows(InvalidModelException.class, () -> TensorCodec.decode(TensorProto.newBuilder().setName("w").setDataType(99).build()));
        assertThrows(InvalidModelException.class, () -> TensorCodec.decode(TensorProto.newBuilder().setName("w").build()));
        assertThrows(UnsupportedException.class, () -> TensorCodec.decode(TensorProto.newBuilder().setName("w").setDataType(14).build()));
        assertThrows(InvalidModelException.class, () -> TensorCodec.decode(t(DType.F32, 2, -1).build()));
        InvalidModelException e = assertThrows(InvalidModelException.class, () -> TensorCodec.decode(t(DType.F32, 1L << 40, 1L << 40).build()));
        assertTrue(e.getMessage().contains("overflow"), e.getMessage());
        // 2^60 elements: no overflow, but refused before any allocation
        assertThrows(InvalidModelException.class, () -> TensorCodec.decode(t(DType.F32, 1L << 30, 1L << 30).setRawData(le(4, 1)).build()));
        assertThrows(UnsupportedException.class, () -> TensorCodec.decode(t(DType.F32, 1).addFloatData(1)
                .setSegment(TensorProto.Segment.newBuilder().setBegin(0).setEnd(1)).build()));
    }

    @Test void encodeThenDecodeIsIdentity() {
        List<Tensor> ts = List.of(
                Tensor.f32(new long[] {2, 2}, 1, -2, 3.5, Double.NaN),
                Tensor.ofDoubles(DType.F16, new long[] {3}, new double[] {1, 0.5, -65504}),
                Tensor.ofDoubles(DType.BF16, new long[] {1}, new double[] {-3}),
                Tensor.ofLongs(DType.U4, new long[] {5}, new long[] {0, 15, 3, 9, 1}),
                Tensor.ofLongs(DType.U2, new long[] {3}, new long[] {3, 0, 2}),
                Tensor.ofDoubles(DType.F4E2M1, new long[] {2}, new double[] {-6, 0.5}),
                Tensor.ofBools(new long[] {2}, new boolean[] {true, false}),
                Tensor.vector(1, -1, Long.MAX_VALUE),
                Tensor.ofStrings(new long[] {2}, new String[] {"a", "ü"}),
                Tensor.zeros(DType.I32, new long[] {0}));
        for (Tensor x : ts) assertEquals(x, TensorCodec.decode(TensorCodec.encode(x, "t")), x.toString());
    }

    @Test void pbFilesRoundTrip(@TempDir Path dir) {
        Tensor x = Tensor.f32(new long[] {3}, 1, 2, 3);
        Path f = dir.resolve("input_0.pb");
        TensorCodec.writeFile(f, x, "x");
        assertEquals(x, TensorCodec.readFile(f));
        KilnException e = assertThrows(KilnException.class, () -> TensorCodec.parse(new byte[] {(byte) 0xFF, 1, 2}, "junk.pb", null));
        assertTrue(e.getMessage().contains("junk.pb"), e.getMessage());
        assertThrows(KilnException.class, () -> TensorCodec.readFile(dir.resolve("missing.pb")));
    }
}
