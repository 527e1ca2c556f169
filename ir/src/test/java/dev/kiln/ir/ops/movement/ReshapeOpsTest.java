package dev.kiln.ir.ops.movement;

import dev.kiln.ir.DType;
import dev.kiln.ir.EvaluationException;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.KilnException;
import dev.kiln.ir.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static dev.kiln.ir.ops.movement.OpRun.*;
import static org.junit.jupiter.api.Assertions.*;

/** Reshape, Flatten, Squeeze, Unsqueeze, Expand: exact values (movement is bit-exact), shape rules, errors. */
class ReshapeOpsTest {
    private static final Map<String, dev.kiln.ir.Attr> NONE = Map.of();

    @Test void reshapeInfersMinusOneAndCopiesZero() {
        assertTensor(run1("Reshape", NONE, iota(2, 3), k(vec(3, -1))), s(3, 2), 0, 1, 2, 3, 4, 5);
        assertTensor(run1("Reshape", NONE, iota(2, 3, 4), k(vec(0, -1))), s(2, 12), iota(24).toDoubles());
        assertTensor(run1("Reshape", NONE, iota(2, 3, 4), vec(2, 3, 1, 4)), s(2, 3, 1, 4), iota(24).toDoubles());
    }

    @Test void reshapeAllowZeroKeepsLiteralZero() {
        Tensor empty = Tensor.zeros(DType.F32, s(0, 3, 4));
        assertTensor(run1("Reshape", attrs("allowzero", 1), empty, k(vec(3, 4, 0))), s(3, 4, 0));
    }

    @Test void reshapeShapeRuleIsSymbolic() {
        var x = type(DType.F32, "N,3,4");
        assertEquals(parse("N,12"), infer("Reshape", NONE, x, k(vec(-1, 12))).shape());
        assertEquals(parse("N,12"), infer("Reshape", NONE, x, k(vec(0, -1))).shape());
        assertEquals(parse("N,2,6"), infer("Reshape", NONE, x, k(vec(0, 2, -1))).shape());
        assertEquals(parse("?,5"), infer("Reshape", NONE, x, k(vec(-1, 5))).shape(), "12N/5 is not a dim we can name");
        assertEquals(parse("?,?,?"), infer("Reshape", NONE, x, type(DType.I64, "3")).shape());
        assertEquals(parse("*"), infer("Reshape", NONE, x, type(DType.I64, "?")).shape());
        assertEquals(DType.F32, infer("Reshape", NONE, x, type(DType.I64, "?")).dtype());
    }

    @Test void reshapeErrors() {
        var x = type(DType.F32, "2,3");
        assertThrows(KilnException.class, () -> infer("Reshape", NONE, x, k(vec(-1, -1))));
        assertThrows(KilnException.class, () -> infer("Reshape", NONE, x, k(vec(4))));
        assertThrows(KilnException.class, () -> infer("Reshape", NONE, x, k(vec(-1, 4))));
        assertThrows(KilnException.class, () -> infer("Reshape", attrs("allowzero", 1), x, k(vec(0, -1))));
        var e = assertThrows(EvaluationException.class, () -> run1("Reshape", NONE, iota(2, 3), vec(4, 2)));
        assertEquals("Reshape", e.op());
    }

    @Test void flatten() {
        assertTensor(run1("Flatten", NONE, iota(2, 3, 4)), s(2, 12), iota(24).toDoubles());
        assertTensor(run1("Flatten", attrs("axis", 0), iota(2, 3, 4)), s(1, 24), iota(24).toDoubles());
        assertTensor(run1("Flatten", attrs("axis", -1), iota(2, 3, 4)), s(6, 4), iota(24).toDoubles());
        assertTensor(run1("Flatten", attrs("axis", 3), iota(2, 3, 4)), s(24, 1), iota(24).toDoubles());
        assertEquals(parse("N,12"), infer("Flatten", NONE, type(DType.F32, "N,3,4")).shape());
        assertEquals(parse("1,?"), infer("Flatten", attrs("axis", 0), type(DType.F32, "N,3,M")).shape());
        assertThrows(KilnException.class, () -> infer("Flatten", attrs("axis", 4), type(DType.F32, "2,3,4")));
    }

    @Test void squeeze() {
        assertTensor(run1("Squeeze", NONE, iota(1, 3, 1, 2), k(vec(-2))), s(1, 3, 2), 0, 1, 2, 3, 4, 5);
        assertTensor(run1("Squeeze", NONE, iota(1, 3, 1, 2)), s(3, 2), 0, 1, 2, 3, 4, 5);
        assertEquals(parse("N,4"), infer("Squeeze", NONE, type(DType.F32, "N,1,4"), k(vec(1))).shape());
        assertEquals(parse("*"), infer("Squeeze", NONE, type(DType.F32, "N,1,4")).shape(), "N may be 1");
        assertEquals(parse("?,?"), infer("Squeeze", NONE, type(DType.F32, "N,1,4"), type(DType.I64, "1")).shape());
        assertThrows(KilnException.class, () -> infer("Squeeze", NONE, type(DType.F32, "2,3"), k(vec(0))));
        assertThrows(EvaluationException.class, () -> run1("Squeeze", NONE, iota(2, 3), vec(1)));
    }

    @Test void unsqueeze() {
        assertTensor(run1("Unsqueeze", NONE, iota(3, 4, 5), k(vec(5, 4, 2))), s(3, 4, 1, 5, 1, 1), iota(60).toDoubles());
        assertTensor(run1("Unsqueeze", NONE, iota(1, 3, 1, 5), k(vec(-2))), s(1, 3, 1, 1, 5), iota(15).toDoubles());
        assertTensor(run1("Unsqueeze", NONE, Tensor.scalar(DType.F32, 7), vec(0)), s(1), 7);
        assertEquals(parse("1,N,4"), infer("Unsqueeze", NONE, type(DType.F32, "N,4"), k(vec(0))).shape());
        assertEquals(parse("?,?,?"), infer("Unsqueeze", NONE, type(DType.F32, "N,4"), type(DType.I64, "1")).shape());
        assertThrows(KilnException.class, () -> infer("Unsqueeze", NONE, type(DType.F32, "N,4"), k(vec(1, -3))), "-3 is axis 1 of the rank-4 output");
        assertThrows(KilnException.class, () -> infer("Unsqueeze", NONE, type(DType.F32, "N,4"), k(vec(3))));
    }

    @Test void expandBroadcastsBothWays() {
        // [3,1] to [2,1,6]: out[b,i,j] = x[i]
        Tensor out = run1("Expand", NONE, f32(s(3, 1), 1, 2, 3), k(vec(2, 1, 6)));
        assertArrayEquals(s(2, 3, 6), out.shape());
        for (int b = 0; b < 2; b++) for (int i = 0; i < 3; i++) for (int j = 0; j < 6; j++)
            assertEquals(i + 1, out.getDouble(b * 18 + i * 6 + j));
        assertTensor(run1("Expand", NONE, f32(s(3, 1), 1, 2, 3), vec(1, 2)), s(3, 2), 1, 1, 2, 2, 3, 3);
        assertEquals(parse("N,4"), infer("Expand", NONE, type(DType.F32, "N,1"), k(vec(1, 4))).shape());
        assertEquals(parse("?,3"), infer("Expand", NONE, type(DType.F32, "3"), type(DType.I64, "2")).shape());
        assertThrows(KilnException.class, () -> infer("Expand", NONE, type(DType.F32, "3"), k(vec(2))));
        assertThrows(EvaluationException.class, () -> run1("Expand", NONE, f32(s(3), 1, 2, 3), vec(2)));
    }

    @Test void stringsMoveToo() {
        Tensor s = Tensor.ofStrings(s(2, 2), new String[] {"a", "b", "c", "d"});
        Tensor out = run1("Reshape", NONE, s, k(vec(4)));
        assertArrayEquals(new String[] {"a", "b", "c", "d"}, out.toStrings());
        assertArrayEquals(new String[] {"a", "b", "a", "b"}, run1("Expand", NONE, Tensor.ofStrings(s(2), new String[] {"a", "b"}), k(vec(2, 2))).toStrings());
    }

    @Test void badAttributeKindIsTyped() {
        assertThrows(InvalidModelException.class, () -> infer("Flatten", attrs("axis", "one"), type(DType.F32, "2,3")));
    }
}
