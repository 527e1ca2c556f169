package dev.kiln.ir.ops.linalg;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.KilnException;
import dev.kiln.ir.Shape;
import dev.kiln.ir.ShapeException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static dev.kiln.ir.ops.linalg.Run.*;
import static org.junit.jupiter.api.Assertions.*;

/** MatMul, Gemm, MatMulInteger, QLinearMatMul against hand-worked products. f32 tolerance 1e-6. */
class MatMulOpsTest {
    @Test void matmul2d() {
        // [[1,2],[3,4]] x [[5,6],[7,8]] = [[19,22],[43,50]]
        Tensor y = op1("MatMul", Map.of(), f32(s(2, 2), 1, 2, 3, 4), f32(s(2, 2), 5, 6, 7, 8));
        close(y, s(2, 2), 1e-6, 19, 22, 43, 50);
    }

    @Test void vectorTimesVectorIsScalar() {
        close(op1("MatMul", Map.of(), f32(s(3), 1, 2, 3), f32(s(3), 4, 5, 6)), s(), 1e-6, 32);
    }

    @Test void vectorOperandsArePromotedAndDropped() {
        // [1,2] x [2,2,1]: batch of two columns -> [2,1]
        close(op1("MatMul", Map.of(), f32(s(2), 1, 2), f32(s(2, 2, 1), 3, 4, 5, 6)), s(2, 1), 1e-6, 11, 17);
        // [2,2,2] x [2]: matrix-vector per batch -> [2,2]
        close(op1("MatMul", Map.of(), f32(s(2, 2, 2), 1, 0, 0, 1, 2, 0, 0, 2), f32(s(2), 3, 4)), s(2, 2), 1e-6, 3, 4, 6, 8);
    }

    @Test void batchAxesBroadcast() {
        // a [2,1,1,2] x b [1,2,2,1] -> [2,2,1,1]; b holds columns [1,0] and [0,1]
        Tensor a = f32(s(2, 1, 1, 2), 1, 2, 3, 4);
        Tensor b = f32(s(1, 2, 2, 1), 1, 0, 0, 1);
        close(op1("MatMul", Map.of(), a, b), s(2, 2, 1, 1), 1e-6, 1, 2, 3, 4);
    }

    @Test void integerMatMulIsExact() {
        long big = 1L << 40;
        Tensor a = Tensor.ofLongs(DType.I64, s(1, 2), new long[] {big, 1});
        Tensor b = Tensor.ofLongs(DType.I64, s(2, 1), new long[] {big, 3});
        assertEquals(3L, op1("MatMul", Map.of(), a, b).getLong(0)); // 2^40 * 2^40 = 2^80 wraps to 0; + 1*3
        Tensor u = Tensor.ofLongs(DType.U64, s(1, 1), new long[] {-1L}); // 2^64-1
        Tensor two = Tensor.ofLongs(DType.U64, s(1, 1), new long[] {2});
        assertEquals(-2L, op1("MatMul", Map.of(), u, two).getLong(0)); // (2^64-1)*2 mod 2^64 = 2^64-2
    }

    @Test void symbolicShapes() {
        TensorType a = new TensorType(DType.F32, Shape.of(Dim.sym("B"), Dim.of(1), Dim.sym("M"), Dim.of(4)));
        TensorType b = new TensorType(DType.F32, Shape.of(Dim.of(3), Dim.of(4), Dim.sym("N")));
        assertEquals(Shape.of(Dim.sym("B"), Dim.of(3), Dim.sym("M"), Dim.sym("N")), Run.infer("MatMul", Map.of(), 1, a, b).get(0).shape());
        TensorType u = new TensorType(DType.F32, Shape.UNRANKED);
        assertEquals(Shape.UNRANKED, Run.infer("MatMul", Map.of(), 1, u, b).get(0).shape());
    }

    @Test void innerDimensionMismatchIsShapeError() {
        KilnException e = assertThrows(ShapeException.class,
                () -> Run.infer("MatMul", Map.of(), 1, TensorType.of(DType.F32, 2, 3), TensorType.of(DType.F32, 4, 2)));
        assertEquals("MatMul", e.op());
        assertThrows(ShapeException.class,
                () -> Run.infer("MatMul", Map.of(), 1, TensorType.of(DType.F32, 2, 3), TensorType.of(DType.F16, 3, 2)));
    }

    @Test void gemmTransposesScalesAndAddsBias() {
        // A^T = [[1,2],[3,4]] (A stored [[1,3],[2,4]]), B^T = I*2 (B stored same), alpha 0.5, beta 2, C row [1,10]
        Tensor a = f32(s(2, 2), 1, 3, 2, 4), b = f32(s(2, 2), 2, 0, 0, 2), c = f32(s(1, 2), 1, 10);
        Map<String, Attr> at = Map.of("transA", Attr.of(1), "transB", Attr.of(1), "alpha", Attr.of(0.5), "beta", Attr.of(2.0));
        // 0.5 * A'B' = [[1,2],[3,4]]; + 2*C = [[3,22],[5,24]]
        close(op1("Gemm", at, a, b, c), s(2, 2), 1e-6, 3, 22, 5, 24);
        // no C, defaults: [[1,3],[2,4]] x [[2,0],[0,2]] = [[2,6],[4,8]]
        close(op1("Gemm", Map.of(), a, b), s(2, 2), 1e-6, 2, 6, 4, 8);
        // scalar C broadcasts
        close(op1("Gemm", Map.of(), a, b, f32(s(), 1)), s(2, 2), 1e-6, 3, 7, 5, 9);
    }

    @Test void gemmRejectsBadOperands() {
        assertThrows(ShapeException.class, () -> Run.infer("Gemm", Map.of(), 1, TensorType.of(DType.F32, 2, 2, 2), TensorType.of(DType.F32, 2, 2)));
        assertThrows(ShapeException.class, () -> Run.infer("Gemm", Map.of(), 1, TensorType.of(DType.F32, 2, 3),
                TensorType.of(DType.F32, 3, 4), TensorType.of(DType.F32, 3, 4)));
        assertEquals(Shape.of(3, 5), Run.infer("Gemm", Map.of("transA", Attr.of(1)), 1, TensorType.of(DType.F32, 4, 3),
                TensorType.of(DType.F32, 4, 5)).get(0).shape());
    }

    @Test void matmulIntegerSubtractsZeroPoints() {
        // (a - 1) x (b - [2,3]) with a = [[2,3],[4,5]] u8, b = [[3,4],[5,6]] u8 -> [[1,2],[3,4]] x [[1,1],[3,3]] = [[7,7],[15,15]]
        Tensor a = Tensor.ofLongs(DType.U8, s(2, 2), new long[] {2, 3, 4, 5});
        Tensor b = Tensor.ofLongs(DType.U8, s(2, 2), new long[] {3, 4, 5, 6});
        Tensor y = op1("MatMulInteger", Map.of(), a, b, Tensor.ofLongs(DType.U8, s(), new long[] {1}),
                Tensor.ofLongs(DType.U8, s(2), new long[] {2, 3}));
        assertEquals(DType.I32, y.dtype());
        assertArrayEquals(new long[] {7, 7, 15, 15}, y.toLongs());
        // per-row zero point of A: rows shift by 2 and 4 -> [[0,1],[0,1]] x b = [[5,6],[5,6]]
        Tensor y2 = op1("MatMulInteger", Map.of(), a, b, Tensor.ofLongs(DType.U8, s(2), new long[] {2, 4}));
        assertArrayEquals(new long[] {5, 6, 5, 6}, y2.toLongs());
        // i8 with negatives, no zero points: [-128] x [-128] = 16384
        Tensor n = Tensor.ofLongs(DType.I8, s(1, 1), new long[] {-128});
        assertEquals(16384, op1("MatMulInteger", Map.of(), n, n).getLong(0));
    }

    @Test void qlinearMatMulRoundsHalfToEvenAndSaturates() {
        Tensor one = Tensor.ofDoubles(DType.F32, s(1), new double[] {1});
        Tensor zU = Tensor.ofLongs(DType.U8, s(1), new long[] {0});
        Tensor a = Tensor.ofLongs(DType.U8, s(1, 2), new long[] {1, 2});
        Tensor b = Tensor.ofLongs(DType.U8, s(2, 3), new long[] {1, 1, 100, 0, 1, 100});
        // sum = [1, 3, 300]; times 0.5 (y_scale 2) = [0.5, 1.5, 150] -> rint half even [0, 2, 150]; + zp 120 -> [120,122,255 sat]
        Tensor y = op1("QLinearMatMul", Map.of(), a, one, zU, b, one, zU, Tensor.ofDoubles(DType.F32, s(1), new double[] {2}),
                Tensor.ofLongs(DType.U8, s(1), new long[] {120}));
        assertEquals(DType.U8, y.dtype());
        assertArrayEquals(new long[] {120, 122, 255}, y.toLongs());
        // int8 saturates low: a zero point shifts everything down
        Tensor ai = Tensor.ofLongs(DType.I8, s(1, 1), new long[] {-100});
        Tensor bi = Tensor.ofLongs(DType.I8, s(1, 1), new long[] {100});
        Tensor zI = Tensor.ofLongs(DType.I8, s(1), new long[] {0});
        Tensor yi = op1("QLinearMatMul", Map.of(), ai, one, zI, bi, one, zI, one, zI);
        assertEquals(-128, yi.getLong(0));
    }

    @Test void qlinearMatMulRejectsFloatData() {
        TensorType f = TensorType.of(DType.F32, 1);
        assertThrows(ShapeException.class, () -> Run.infer("QLinearMatMul", Map.of(), 1, TensorType.of(DType.F32, 2, 2), f,
                f, TensorType.of(DType.F32, 2, 2), f, f, f, f));
    }
}
