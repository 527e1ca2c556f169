package dev.kiln.ir.ops.elementwise;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.Shape;
import dev.kiln.ir.ShapeException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static dev.kiln.ir.ops.elementwise.Run.*;
import static org.junit.jupiter.api.Assertions.*;

class QuantizeOpsTest {
    private static Tensor u8(long[] shape, long... v) { return Tensor.ofLongs(DType.U8, shape, v); }

    @Test void perTensorRoundsHalfEvenAddsZeroPointAndSaturates() {
        // x/2 = 0, 1, 1.5, 500, -127, -500 -> rint 0, 1, 2, 500, -127, -500 -> +128 and clamp to [0, 255]
        Tensor y = one("QuantizeLinear", f32(s(6), 0, 2, 3, 1000, -254, -1000), f32(s(), 2), u8(s(), 128));
        assertEquals(DType.U8, y.dtype());
        assertArrayEquals(new long[] {128, 129, 130, 255, 1, 0}, y.toLongs());
    }

    @Test void perAxisUsesOneScalePerChannel() {
        Tensor x = f32(s(1, 3, 2), 2, 4, 8, 16, 4, 8);
        assertArrayEquals(new long[] {2, 4, 4, 8, 1, 2}, one("QuantizeLinear", x, f32(s(3), 1, 2, 4)).toLongs());
    }

    @Test void blockedScalesCoverBlockSizeElements() {
        Tensor x = f32(s(2, 4), 1, 2, 4, 8, 4, 8, 16, 32);
        Tensor scale = f32(s(2, 2), 1, 2, 4, 8);
        Tensor y = one("QuantizeLinear", Map.of("block_size", Attr.of(2), "output_dtype", Attr.of(3)), x, scale);
        assertEquals(DType.I8, y.dtype());
        assertArrayEquals(new long[] {1, 2, 2, 4, 1, 2, 2, 4}, y.toLongs());
        Tensor back = one("DequantizeLinear", Map.of("block_size", Attr.of(2)), y, scale);
        assertDoubles(new double[] {1, 2, 4, 8, 4, 8, 16, 32}, back, 0);
    }

    @Test void narrowTargetsSaturate() {
        Tensor y = one("QuantizeLinear", Map.of("output_dtype", Attr.of(22)), f32(s(3), 100, -100, 7.5), f32(s(), 1));
        assertEquals(DType.I4, y.dtype());
        assertArrayEquals(new long[] {7, -8, 7}, y.toLongs());   // rint(7.5) = 8 saturates to 7
        Tensor f8 = one("QuantizeLinear", f32(s(2), 1000, 2), f32(s(), 2), Tensor.zeros(DType.F8E4M3FN, s(1)));
        assertEquals(0x7E, f8.getBits(0));   // 500 saturates to 448
        assertEquals(1.0, f8.getDouble(1));
    }

    @Test void dequantizeSubtractsZeroPointThenScales() {
        assertDoubles(new double[] {-256, -250, 0, 254}, one("DequantizeLinear", u8(s(4), 0, 3, 128, 255), f32(s(), 2), u8(s(), 128)), 0);
        Tensor i4 = Tensor.ofLongs(DType.I4, s(3), new long[] {-8, 0, 7});
        assertDoubles(new double[] {-4, 0, 3.5}, one("DequantizeLinear", i4, f32(s(), 0.5)), 0);
        Tensor e4 = Tensor.ofDoubles(DType.F8E4M3FN, s(2), new double[] {448, -0.5});
        assertDoubles(new double[] {896, -1}, one("DequantizeLinear", e4, f32(s(), 2)), 0);
    }

    @Test void dynamicQuantizeMatchesTheSpecExample() {
        // the worked example in the ONNX DynamicQuantizeLinear documentation
        List<Tensor> r = node("DynamicQuantizeLinear", Map.of(), 3, f32(s(6), 0, 2, -3, -2.5, 1.34, 0.5));
        assertArrayEquals(new long[] {153, 255, 0, 26, 221, 179}, r.get(0).toLongs());
        assertEquals((double) (5f / 255f), r.get(1).getDouble(0), 0);
        assertEquals(153, r.get(2).getLong(0));
    }

    @Test void shapeRulesAndErrors() {
        TensorType x = new TensorType(DType.F32, Shape.of(Dim.sym("N"), Dim.of(3)));
        assertEquals(x.withDType(DType.U8), infer("QuantizeLinear", Map.of(), x, TensorType.of(DType.F32)));
        assertEquals(x.withDType(DType.I16), infer("QuantizeLinear", Map.of("output_dtype", Attr.of(5)), x, TensorType.of(DType.F32)));
        assertThrows(ShapeException.class, () -> infer("QuantizeLinear", Map.of("output_dtype", Attr.of(3)), x,
                TensorType.of(DType.F32), TensorType.of(DType.U8)));   // disagrees with zero point
        assertThrows(ShapeException.class, () -> infer("QuantizeLinear", Map.of(), x, TensorType.of(DType.F32, 4))); // 4 != 3
        assertEquals(x.withDType(DType.F16), infer("DequantizeLinear", Map.of(), x.withDType(DType.U8), TensorType.of(DType.F16)));
    }
}
