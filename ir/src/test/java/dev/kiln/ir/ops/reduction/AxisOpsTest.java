package dev.kiln.ir.ops.reduction;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.KilnException;
import dev.kiln.ir.Shape;
import dev.kiln.ir.ShapeException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static dev.kiln.ir.ops.reduction.Harness.*;
import static org.junit.jupiter.api.Assertions.*;

/** ArgMax/ArgMin, CumSum and TopK: hand-worked values, ties, unsigned order, shapes and errors. */
class AxisOpsTest {
    static final Tensor A = f32(s(2, 2), 2, 1, 3, 10);

    @Test void argMaxAndArgMin() {
        Tensor y = run1("ArgMax", Map.of(), A);                       // default axis 0, keepdims
        assertEquals(DType.I64, y.dtype());
        assertShape(y, 1, 2);
        assertArrayEquals(new long[] {1, 1}, y.toLongs());
        assertArrayEquals(new long[] {0, 1}, run1("ArgMax", Map.of("axis", Attr.of(1), "keepdims", Attr.of(0)), A).toLongs());
        assertArrayEquals(new long[] {1, 0}, run1("ArgMin", Map.of("axis", Attr.of(-1), "keepdims", Attr.of(0)), A).toLongs());
    }

    @Test void selectLastIndexBreaksTiesTheOtherWay() {
        Tensor t = f32(s(2, 2), 2, 2, 3, 10);
        assertArrayEquals(new long[] {0, 1}, run1("ArgMax", Map.of("axis", Attr.of(1)), t).toLongs());
        assertArrayEquals(new long[] {1, 1}, run1("ArgMax", Map.of("axis", Attr.of(1), "select_last_index", Attr.of(1)), t).toLongs());
        assertArrayEquals(new long[] {1, 0}, run1("ArgMin", Map.of("axis", Attr.of(1), "select_last_index", Attr.of(1)), t).toLongs());
    }

    @Test void argMaxOrdersUnsignedAndNaNLikeNumpy() {
        Tensor u = Tensor.ofLongs(DType.U64, s(3), new long[] {1, -1L, 5});
        assertEquals(1, run1("ArgMax", Map.of(), u).getLong(0));
        assertEquals(0, run1("ArgMin", Map.of(), u).getLong(0));
        Tensor n = f32(s(3), 1, Double.NaN, 3);
        assertEquals(1, run1("ArgMax", Map.of(), n).getLong(0));
        assertEquals(1, run1("ArgMin", Map.of(), n).getLong(0));
    }

    @Test void argShapes() {
        TensorType x = new TensorType(DType.F32, Shape.of(Dim.sym("N"), Dim.of(4)));
        assertEquals(new TensorType(DType.I64, Shape.of(Dim.sym("N"))),
                infer("ArgMax", Map.of("axis", Attr.of(-1), "keepdims", Attr.of(0)), 1, x).get(0));
        assertEquals(new TensorType(DType.I64, Shape.of(Dim.of(1), Dim.of(4))), infer("ArgMin", Map.of(), 1, x).get(0));
        assertThrows(ShapeException.class, () -> infer("ArgMax", Map.of("axis", Attr.of(2)), 1, x));
    }

    @Test void cumSumForwardReverseExclusive() {
        Tensor x = f64(s(5), 1, 2, 3, 4, 5);
        Tensor ax = Tensor.scalarLong(DType.I32, 0);
        assertClose(new double[] {1, 3, 6, 10, 15}, run1("CumSum", Map.of(), x, ax), 0);
        assertClose(new double[] {0, 1, 3, 6, 10}, run1("CumSum", Map.of("exclusive", Attr.of(1)), x, ax), 0);
        assertClose(new double[] {15, 14, 12, 9, 5}, run1("CumSum", Map.of("reverse", Attr.of(1)), x, ax), 0);
        assertClose(new double[] {14, 12, 9, 5, 0}, run1("CumSum", Map.of("reverse", Attr.of(1), "exclusive", Attr.of(1)), x, ax), 0);
    }

    @Test void cumSumAlongEachAxisOf2d() {
        Tensor x = f64(s(2, 3), 1, 2, 3, 4, 5, 6);
        assertClose(new double[] {1, 2, 3, 5, 7, 9}, run1("CumSum", Map.of(), x, Tensor.scalarLong(DType.I32, 0)), 0);
        assertClose(new double[] {1, 3, 6, 4, 9, 15}, run1("CumSum", Map.of(), x, Tensor.scalarLong(DType.I32, 1)), 0);
        assertClose(new double[] {1, 3, 6, 4, 9, 15}, run1("CumSum", Map.of(), x, Tensor.vector(-1)), 0);
    }

    @Test void cumSumIntegersWrapExactly() {
        Tensor x = Tensor.ofLongs(DType.I32, s(3), new long[] {Integer.MAX_VALUE, 1, 1});
        Tensor y = run1("CumSum", Map.of(), x, Tensor.scalarLong(DType.I32, 0));
        assertEquals(DType.I32, y.dtype());
        assertArrayEquals(new long[] {Integer.MAX_VALUE, Integer.MIN_VALUE, Integer.MIN_VALUE + 1}, y.toLongs());
        Tensor e = run1("CumSum", Map.of("exclusive", Attr.of(1)), Tensor.ofLongs(DType.I32, s(3), new long[] {1, 2, 3}),
                Tensor.scalarLong(DType.I32, 0));
        assertArrayEquals(new long[] {0, 1, 3}, e.toLongs());
    }

    @Test void cumSumErrors() {
        TensorType x = TensorType.of(DType.F32, 2, 3);
        assertThrows(ShapeException.class, () -> infer("CumSum", Map.of(), 1, x, Tensor.scalarLong(DType.I32, 2)));
        assertThrows(ShapeException.class, () -> infer("CumSum", Map.of(), 1, x, Tensor.vector(0, 1)));
        assertThrows(ShapeException.class, () -> infer("CumSum", Map.of(), 1, x, Tensor.scalar(DType.F32, 0)));
    }

    static final Tensor T = f32(s(3, 4), 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);

    @Test void topKLargestAndSmallest() {
        List<Tensor> r = run("TopK", Map.of("axis", Attr.of(1)), 2, T, Tensor.vector(3));
        assertShape(r.get(0), 3, 3);
        assertClose(new double[] {3, 2, 1, 7, 6, 5, 11, 10, 9}, r.get(0), 0);
        assertArrayEquals(new long[] {3, 2, 1, 3, 2, 1, 3, 2, 1}, r.get(1).toLongs());
        List<Tensor> sm = run("TopK", Map.of("largest", Attr.of(0)), 2, T, Tensor.vector(3));
        assertClose(new double[] {0, 1, 2, 4, 5, 6, 8, 9, 10}, sm.get(0), 0);
        assertArrayEquals(new long[] {0, 1, 2, 0, 1, 2, 0, 1, 2}, sm.get(1).toLongs());
        List<Tensor> col = run("TopK", Map.of("axis", Attr.of(-2)), 2, T, Tensor.vector(1));
        assertShape(col.get(0), 1, 4);
        assertArrayEquals(new long[] {2, 2, 2, 2}, col.get(1).toLongs());
    }

    @Test void topKTiesKeepTheLowerIndexFirst() {
        Tensor x = Tensor.ofLongs(DType.I64, s(4), new long[] {1, 1, 2, 1});
        List<Tensor> big = run("TopK", Map.of(), 2, x, Tensor.vector(3));
        assertArrayEquals(new long[] {2, 1, 1}, big.get(0).toLongs());
        assertArrayEquals(new long[] {2, 0, 1}, big.get(1).toLongs());
        List<Tensor> small = run("TopK", Map.of("largest", Attr.of(0)), 2, x, Tensor.vector(3));
        assertArrayEquals(new long[] {1, 1, 1}, small.get(0).toLongs());
        assertArrayEquals(new long[] {0, 1, 3}, small.get(1).toLongs());
    }

    @Test void topKUnsigned64() {
        Tensor x = Tensor.ofLongs(DType.U64, s(4), new long[] {3, -1L, 7, Long.MIN_VALUE}); // 2^64-1, 2^63
        List<Tensor> r = run("TopK", Map.of(), 2, x, Tensor.vector(2));
        assertEquals(DType.U64, r.get(0).dtype());
        assertArrayEquals(new long[] {-1L, Long.MIN_VALUE}, r.get(0).toLongs());
        assertArrayEquals(new long[] {1, 3}, r.get(1).toLongs());
    }

    @Test void topKShapesAndErrors() {
        TensorType x = new TensorType(DType.F32, Shape.of(Dim.sym("N"), Dim.of(4)));
        List<TensorType> t = infer("TopK", Map.of(), 2, x, Tensor.vector(2));
        assertEquals(new TensorType(DType.F32, Shape.of(Dim.sym("N"), Dim.of(2))), t.get(0));
        assertEquals(new TensorType(DType.I64, Shape.of(Dim.sym("N"), Dim.of(2))), t.get(1));
        assertEquals(Shape.of(Dim.sym("N"), Dim.UNKNOWN), infer("TopK", Map.of(), 2, x, TensorType.of(DType.I64, 1)).get(1).shape());
        assertThrows(ShapeException.class, () -> infer("TopK", Map.of(), 2, x, Tensor.vector(5)));
        assertThrows(ShapeException.class, () -> infer("TopK", Map.of(), 2, x, Tensor.vector(-1)));
        assertThrows(ShapeException.class, () -> infer("TopK", Map.of("axis", Attr.of(2)), 2, x, Tensor.vector(1)));
        KilnException e = assertThrows(KilnException.class,
                () -> run("TopK", Map.of(), 2, f32(s(2), 1, 2), Tensor.vector(3)));
        assertEquals("TopK", e.op());
    }
}
