package dev.kiln.ir.ops.movement;

import dev.kiln.ir.DType;
import dev.kiln.ir.EvaluationException;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.KilnException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.op.Trait;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static dev.kiln.ir.ops.movement.OpRun.*;
import static org.junit.jupiter.api.Assertions.*;

/** Shape, Size, ConstantOfShape, Range, EyeLike, OneHot, NonZero. */
class GenerateOpsTest {
    private static final Map<String, dev.kiln.ir.Attr> NONE = Map.of();

    @Test void shapeWithStartEnd() {
        Tensor x = iota(3, 4, 5);
        assertLongs(run1("Shape", NONE, x), DType.I64, s(3), 3, 4, 5);
        assertLongs(run1("Shape", attrs("start", 1, "end", -1), x), DType.I64, s(1), 4);
        assertLongs(run1("Shape", attrs("start", -10), x), DType.I64, s(3), 3, 4, 5);
        assertLongs(run1("Shape", attrs("end", 10), x), DType.I64, s(3), 3, 4, 5);
        assertLongs(run1("Shape", attrs("start", 2, "end", 1), x), DType.I64, s(0));
        assertEquals(type(DType.I64, "2"), infer("Shape", NONE, type(DType.F32, "N,M")), "length is known even when dims are not");
        assertEquals(type(DType.I64, "?"), infer("Shape", NONE, type(DType.F32, "*")));
        assertFalse(OpRegistry.standard().get("Shape").has(Trait.DATA_DEPENDENT_SHAPE));
    }

    @Test void size() {
        assertLongs(run1("Size", NONE, iota(2, 3)), DType.I64, s(), 6);
        assertLongs(run1("Size", NONE, Tensor.zeros(DType.F32, s(2, 0))), DType.I64, s(), 0);
        assertEquals(type(DType.I64, ""), infer("Size", NONE, type(DType.F32, "*")));
    }

    @Test void constantOfShape() {
        assertLongs(run1("ConstantOfShape", attrs("value", Tensor.ofLongs(DType.I32, s(1), new long[] {7})), vec(2, 3)),
                DType.I32, s(2, 3), 7, 7, 7, 7, 7, 7);
        assertTensor(run1("ConstantOfShape", NONE, k(vec(2))), s(2), 0, 0);
        assertLongs(run1("ConstantOfShape", attrs("value", Tensor.ofLongs(DType.I32, s(1), new long[] {0})), vec(0)), DType.I32, s(0));
        assertEquals(type(DType.F32, "4,3,2"), infer("ConstantOfShape", NONE, k(vec(4, 3, 2))));
        assertEquals(type(DType.F32, "?,?"), infer("ConstantOfShape", NONE, type(DType.I64, "2")));
        assertThrows(InvalidModelException.class, () -> infer("ConstantOfShape", attrs("value", vec(1, 2)), type(DType.I64, "2")));
        assertThrows(KilnException.class, () -> infer("ConstantOfShape", NONE, k(vec(2, -1))));
    }

    @Test void rangeIntegersExact() {
        Tensor a = Tensor.scalarLong(DType.I32, 10), b = Tensor.scalarLong(DType.I32, 4), d = Tensor.scalarLong(DType.I32, -3);
        assertLongs(run1("Range", NONE, a, b, d), DType.I32, s(2), 10, 7);
        assertLongs(run1("Range", NONE, Tensor.scalarLong(DType.I64, 3), Tensor.scalarLong(DType.I64, 9), Tensor.scalarLong(DType.I64, 3)),
                DType.I64, s(2), 3, 6);
        assertLongs(run1("Range", NONE, Tensor.scalarLong(DType.I64, 3), Tensor.scalarLong(DType.I64, 1), Tensor.scalarLong(DType.I64, 1)),
                DType.I64, s(0));
        assertEquals(type(DType.I32, "2"), infer("Range", NONE, k(a), k(b), k(d)));
        assertEquals(type(DType.I32, "?"), infer("Range", NONE, a, k(b), k(d)));
        assertTrue(OpRegistry.standard().get("Range").has(Trait.DATA_DEPENDENT_SHAPE));
        assertThrows(EvaluationException.class, () -> run1("Range", NONE, a, b, Tensor.scalarLong(DType.I32, 0)));
    }

    @Test void rangeFloats() {
        // ceil((2 - 1) / 0.25) = 4 values; 0.25 is exact, so no rounding question arises
        Tensor r = run1("Range", NONE, Tensor.scalar(DType.F32, 1), Tensor.scalar(DType.F32, 2), Tensor.scalar(DType.F32, 0.25));
        assertTensor(r, s(4), 1, 1.25, 1.5, 1.75);
        // f16: ceil((6 - 1) / 2) = 3 values: 1, 3, 5
        r = run1("Range", NONE, Tensor.scalar(DType.F16, 1), Tensor.scalar(DType.F16, 6), Tensor.scalar(DType.F16, 2));
        assertEquals(DType.F16, r.dtype());
        assertTensor(r, s(3), 1, 3, 5);
        r = run1("Range", NONE, Tensor.scalar(DType.BF16, 1), Tensor.scalar(DType.BF16, 5), Tensor.scalar(DType.BF16, 2));
        assertTensor(r, s(2), 1, 3);
        assertThrows(KilnException.class, () -> infer("Range", NONE, type(DType.F32, ""), type(DType.I32, ""), type(DType.F32, "")));
    }

    @Test void eyeLike() {
        assertTensor(run1("EyeLike", attrs("k", 1), iota(2, 3)), s(2, 3), 0, 1, 0, 0, 0, 1);
        assertLongs(run1("EyeLike", attrs("dtype", 7, "k", -1), iota(3, 2)), DType.I64, s(3, 2), 0, 0, 1, 0, 0, 1);
        assertEquals(type(DType.BOOL, "N,N"), infer("EyeLike", attrs("dtype", 9), type(DType.F32, "N,N")));
        assertThrows(KilnException.class, () -> infer("EyeLike", NONE, type(DType.F32, "3")));
    }

    @Test void oneHot() {
        Tensor on = f32(s(2), 0, 1);
        assertTensor(run1("OneHot", NONE, i64(s(3), 0, 2, -1), Tensor.scalar(DType.F32, 3), on), s(3, 3), 1, 0, 0, 0, 0, 1, 0, 0, 1);
        // axis 0: out[d, i] = on where indices[i] == d; index 3 is out of range and stays off
        assertLongs(run1("OneHot", attrs("axis", 0), i64(s(3), 1, 0, 3), Tensor.scalarLong(DType.I64, 2), i32(s(2), 5, 7)),
                DType.I32, s(2, 3), 5, 7, 5, 7, 5, 5);
        assertEquals(type(DType.F32, "N,10"), infer("OneHot", NONE, type(DType.I64, "N"), k(Tensor.scalarLong(DType.I64, 10)), on));
        assertEquals(type(DType.F32, "?,N"), infer("OneHot", attrs("axis", 0), type(DType.I64, "N"), type(DType.I64, ""), on));
        assertThrows(KilnException.class, () -> infer("OneHot", NONE, type(DType.I64, "N"), type(DType.I64, ""), type(DType.F32, "3")));
    }

    @Test void nonZero() {
        assertLongs(run1("NonZero", NONE, f32(s(2, 2), 1, 0, 1, 1)), DType.I64, s(2, 3), 0, 1, 1, 0, 0, 1);
        assertLongs(run1("NonZero", NONE, Tensor.ofBools(s(3), new boolean[] {false, true, false})), DType.I64, s(1, 1), 1);
        assertEquals(type(DType.I64, "3,?"), infer("NonZero", NONE, type(DType.F32, "N,2,2")));
    }
}
