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

import java.util.Map;

import static dev.kiln.ir.ops.reduction.Harness.*;
import static org.junit.jupiter.api.Assertions.*;

/** ReduceX: hand-worked values on the ONNX example tensor, identities of empty sets, integer exactness, shapes. */
class ReduceTest {
    // [[[1,2],[3,4]],[[5,6],[7,8]],[[9,10],[11,12]]]
    static final Tensor X = f32(s(3, 2, 2), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
    static final double RTOL = 1e-6; // f32 outputs, exact sums rounded once

    @Test void sumOverMiddleAxisKeepsDims() {
        Tensor y = run1("ReduceSum", Map.of(), X, Tensor.vector(1));
        assertShape(y, 3, 1, 2);
        assertClose(new double[] {4, 6, 12, 14, 20, 22}, y, 0);
    }

    @Test void negativeAxisWithoutKeepdims() {
        Tensor y = run1("ReduceMean", Map.of("keepdims", Attr.of(0)), X, Tensor.vector(-2));
        assertShape(y, 3, 2);
        assertClose(new double[] {2, 3, 6, 7, 10, 11}, y, 0);
    }

    @Test void absentOrEmptyAxesReduceEverything() {
        Tensor all = run1("ReduceSum", Map.of("keepdims", Attr.of(0)), X);
        assertShape(all);
        assertClose(new double[] {78}, all, 0);
        Tensor kept = run1("ReduceSum", Map.of(), X, Tensor.vector());
        assertShape(kept, 1, 1, 1);
        assertClose(new double[] {78}, kept, 0);
    }

    @Test void noopWithEmptyAxesPassesThrough() {
        Tensor y = run1("ReduceSum", Map.of("noop_with_empty_axes", Attr.of(1)), X, Tensor.vector());
        assertEquals(X, y);
    }

    @Test void eachReductionOnOneRow() {
        Tensor v = f32(s(1, 3), -3, 4, 12);
        // sum 13, mean 13/3, max 12, min -3, prod -144, L1 19, L2 13, logsum log 13, sumsq 169
        Object[][] cases = {
                {"ReduceSum", 13.0}, {"ReduceMean", 13.0 / 3}, {"ReduceMax", 12.0}, {"ReduceMin", -3.0},
                {"ReduceProd", -144.0}, {"ReduceL1", 19.0}, {"ReduceL2", 13.0}, {"ReduceLogSum", Math.log(13)},
                {"ReduceSumSquare", 169.0},
                {"ReduceLogSumExp", Math.log(Math.exp(-3) + Math.exp(4) + Math.exp(12))}};
        for (Object[] c : cases) {
            Tensor y = run1((String) c[0], Map.of("keepdims", Attr.of(0)), v, Tensor.vector(1));
            assertShape(y, 1);
            assertClose(new double[] {(Double) c[1]}, y, RTOL);
        }
    }

    @Test void logSumExpDoesNotOverflow() {
        Tensor y = run1("ReduceLogSumExp", Map.of(), f64(s(3), 1000, 1000, Double.NEGATIVE_INFINITY));
        assertClose(new double[] {1000 + Math.log(2)}, y, 1e-15);
        Tensor z = run1("ReduceLogSumExp", Map.of(), f64(s(2), Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY));
        assertEquals(Double.NEGATIVE_INFINITY, z.getDouble(0));
    }

    @Test void emptySetGivesIdentity() {
        Tensor empty = f32(s(2, 0, 4));
        Object[][] cases = {
                {"ReduceSum", 0.0}, {"ReduceMax", Double.NEGATIVE_INFINITY}, {"ReduceMin", Double.POSITIVE_INFINITY},
                {"ReduceProd", 1.0}, {"ReduceL1", 0.0}, {"ReduceL2", 0.0}, {"ReduceSumSquare", 0.0},
                {"ReduceLogSum", Double.NEGATIVE_INFINITY}, {"ReduceLogSumExp", Double.NEGATIVE_INFINITY}};
        for (Object[] c : cases) {
            Tensor y = run1((String) c[0], Map.of(), empty, Tensor.vector(1));
            assertShape(y, 2, 1, 4);
            for (double d : y.toDoubles()) assertEquals((Double) c[1], d, (String) c[0]);
        }
        Tensor z = run1("ReduceSum", Map.of(), empty, Tensor.vector(2));   // non-reduced axis is the empty one
        assertShape(z, 2, 0, 1);
    }

    @Test void nanPropagatesThroughMax() {
        Tensor y = run1("ReduceMax", Map.of(), f32(s(3), 1, Double.NaN, 3));
        assertTrue(Double.isNaN(y.getDouble(0)));
    }

    @Test void boolMaxAndMin() {
        Tensor b = Tensor.ofBools(s(4, 2), new boolean[] {true, false, false, false, true, true, false, true});
        Tensor max = run1("ReduceMax", Map.of(), b, Tensor.vector(1));
        Tensor min = run1("ReduceMin", Map.of(), b, Tensor.vector(1));
        assertEquals(DType.BOOL, max.dtype());
        assertShape(max, 4, 1);
        assertArrayEquals(new long[] {1, 0, 1, 1}, max.toLongs());
        assertArrayEquals(new long[] {0, 0, 1, 0}, min.toLongs());
    }

    @Test void integersAreExact() {
        Tensor big = Tensor.ofLongs(DType.I64, s(2), new long[] {Long.MAX_VALUE - 1, 1});
        assertEquals(Long.MAX_VALUE, run1("ReduceSum", Map.of(), big).getLong(0));  // a double sum would round
        Tensor u = Tensor.ofLongs(DType.U64, s(3), new long[] {1, -1L, 5});         // -1L is 2^64-1
        assertEquals(-1L, run1("ReduceMax", Map.of(), u).getLong(0));
        assertEquals(1L, run1("ReduceMin", Map.of(), u).getLong(0));
        Tensor i = Tensor.ofLongs(DType.I32, s(2, 2), new long[] {1, 2, -3, -4});
        assertArrayEquals(new long[] {1, -3}, run1("ReduceMean", Map.of(), i, Tensor.vector(1)).toLongs()); // 1.5, -3.5 truncated
        assertArrayEquals(new long[] {2, 12}, run1("ReduceProd", Map.of(), i, Tensor.vector(1)).toLongs());
        assertArrayEquals(new long[] {3, 7}, run1("ReduceL1", Map.of(), i, Tensor.vector(1)).toLongs());
        assertArrayEquals(new long[] {5, 25}, run1("ReduceSumSquare", Map.of(), i, Tensor.vector(1)).toLongs());
        Tensor empty8 = Tensor.ofLongs(DType.I8, s(0), new long[0]);
        assertEquals(-128, run1("ReduceMax", Map.of(), empty8).getLong(0));
        assertEquals(127, run1("ReduceMin", Map.of(), empty8).getLong(0));
        assertEquals(255, run1("ReduceMin", Map.of(), Tensor.ofLongs(DType.U8, s(0), new long[0])).getLong(0));
    }

    @Test void halfAccumulatesInDoubleAndRoundsOnce() {
        // in f16 steps 2048+1 rounds back to 2048 twice; the exact sum 2050 is representable
        Tensor h = Tensor.ofDoubles(DType.F16, s(3), new double[] {2048, 1, 1});
        assertEquals(2050.0, run1("ReduceSum", Map.of(), h).getDouble(0));
    }

    @Test void symbolicShapes() {
        TensorType x = new TensorType(DType.F32, Shape.of(Dim.sym("N"), Dim.of(3), Dim.sym("M")));
        assertEquals(Shape.of(Dim.sym("N"), Dim.of(1), Dim.sym("M")),
                infer("ReduceSum", Map.of(), 1, x, Tensor.vector(1)).get(0).shape());
        assertEquals(Shape.of(Dim.sym("N"), Dim.of(3)),
                infer("ReduceMax", Map.of("keepdims", Attr.of(0)), 1, x, Tensor.vector(-1)).get(0).shape());
        // axes known only at run time: rank from keepdims or from the axes' length
        TensorType axes1 = TensorType.of(DType.I64, 1);
        assertEquals(Shape.unknown(3), infer("ReduceSum", Map.of(), 1, x, axes1).get(0).shape());
        assertEquals(Shape.unknown(2), infer("ReduceSum", Map.of("keepdims", Attr.of(0)), 1, x, axes1).get(0).shape());
        assertEquals(Shape.of(1, 1, 1), infer("ReduceL2", Map.of(), 1, x, TensorType.of(DType.I64, 0)).get(0).shape());
        assertEquals(Shape.UNRANKED, infer("ReduceSum", Map.of("keepdims", Attr.of(0)), 1,
                x, new TensorType(DType.I64, Shape.of(Dim.sym("K")))).get(0).shape());
        assertEquals(DType.F32, infer("ReduceSum", Map.of(), 1, new TensorType(DType.F32, Shape.UNRANKED), axes1).get(0).dtype());
    }

    @Test void badAxesAndTypesAreTypedErrors() {
        TensorType x = TensorType.of(DType.F32, 2, 3);
        assertThrows(ShapeException.class, () -> infer("ReduceSum", Map.of(), 1, x, Tensor.vector(2)));
        assertThrows(ShapeException.class, () -> infer("ReduceSum", Map.of(), 1, x, Tensor.vector(0, -2)));
        assertThrows(KilnException.class, () -> infer("ReduceSum", Map.of(), 1, TensorType.of(DType.BOOL, 2)));
        assertThrows(KilnException.class, () -> infer("ReduceMean", Map.of(), 1, TensorType.of(DType.STRING, 2)));
        assertThrows(KilnException.class, () -> infer("ReduceSum", Map.of(), 1, x, Tensor.ofLongs(DType.I32, s(1), new long[] {0})));
        KilnException e = assertThrows(KilnException.class, () -> run1("ReduceSum", Map.of(), f32(s(2), 1, 2), Tensor.vector(1)));
        assertEquals("ReduceSum", e.op());
    }

    @Test void everyRowIsRegisteredAsReduction() {
        for (var r : Reductions.ROWS)
            assertTrue(dev.kiln.ir.op.OpRegistry.standard().get(r.name()).has(dev.kiln.ir.op.Trait.REDUCTION), r.name());
        assertEquals(10, Reductions.ROWS.size());
    }
}
