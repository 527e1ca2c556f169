package dev.kiln.ir.ops.movement;

import dev.kiln.ir.DType;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.KilnException;
import dev.kiln.ir.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static dev.kiln.ir.ops.movement.OpRun.*;
import static org.junit.jupiter.api.Assertions.*;

/** Slice (clamping, negative steps, omitted axes/steps) and Pad (four modes, negative pads, axes). */
class SliceOpsTest {
    private static final Map<String, dev.kiln.ir.Attr> NONE = Map.of();

    @Test void sliceBasicsAndOmittedInputs() {
        // rows 0..-1 (i.e. 0), cols 1..end
        assertTensor(run1("Slice", NONE, iota(2, 3), k(vec(0, 1)), k(vec(-1, 1000))), s(1, 2), 1, 2);
        assertTensor(run1("Slice", NONE, iota(2, 3), vec(1), vec(3), vec(1), null), s(2, 2), 1, 2, 4, 5);
        assertTensor(run1("Slice", NONE, iota(20, 10, 5), vec(0, 0), vec(3, 10), vec(0, 1), vec(1, 1)), s(3, 10, 5), iota(150).toDoubles());
    }

    @Test void sliceNegativeStepsAndClamping() {
        assertTensor(run1("Slice", NONE, iota(10), vec(8), vec(1), vec(0), vec(-3)), s(3), 8, 5, 2);
        assertTensor(run1("Slice", NONE, iota(4), vec(-1), vec(Long.MIN_VALUE), vec(0), vec(-1)), s(4), 3, 2, 1, 0);
        assertTensor(run1("Slice", NONE, iota(4), vec(100), vec(-100), vec(0), vec(-2)), s(2), 3, 1);
        assertTensor(run1("Slice", NONE, iota(4), vec(1000), vec(1001)), s(0));
        assertTensor(run1("Slice", NONE, iota(4), vec(-100), vec(Long.MAX_VALUE)), s(4), 0, 1, 2, 3);
        assertTensor(run1("Slice", NONE, iota(2, 5), vec(1), vec(1000), vec(-1), vec(2)), s(2, 2), 1, 3, 6, 8);
    }

    @Test void sliceShapeRule() {
        var x = type(DType.F32, "N,10,5");
        assertEquals(parse("N,3,5"), infer("Slice", NONE, x, k(vec(0, 2)), k(vec(Long.MAX_VALUE, 5)), k(vec(0, 1))).shape());
        // axis 1: 9, 7, 5, 3, 1 (stops before 0)
        assertEquals(parse("?,5,5"), infer("Slice", NONE, x, k(vec(1, -1)), k(vec(2, 0)), k(vec(0, 1)), k(vec(1, -2))).shape());
        assertEquals(parse("N,?,5"), infer("Slice", NONE, x, type(DType.I64, "1"), type(DType.I64, "1"), k(vec(1))).shape());
        assertEquals(parse("?,?,5"), infer("Slice", NONE, x, type(DType.I64, "2"), type(DType.I64, "2")).shape());
        assertEquals(parse("?,?,?"), infer("Slice", NONE, x, k(vec(0)), k(vec(1)), type(DType.I64, "1")).shape());
        assertThrows(KilnException.class, () -> infer("Slice", NONE, x, k(vec(0)), k(vec(1)), k(vec(0)), k(vec(0))));
        assertThrows(KilnException.class, () -> infer("Slice", NONE, x, k(vec(0, 0)), k(vec(1))));
        assertThrows(KilnException.class, () -> infer("Slice", NONE, x, k(vec(0, 0)), k(vec(1, 1)), k(vec(1, -2))));
    }

    @Test void padModes() {
        Tensor x = f32(s(3), 1, 2, 3);
        assertTensor(run1("Pad", NONE, x, k(vec(2, 1)), k(Tensor.scalar(DType.F32, 9))), s(6), 9, 9, 1, 2, 3, 9);
        assertTensor(run1("Pad", NONE, x, k(vec(2, 1))), s(6), 0, 0, 1, 2, 3, 0);
        assertTensor(run1("Pad", attrs("mode", "edge"), x, k(vec(2, 1))), s(6), 1, 1, 1, 2, 3, 3);
        assertTensor(run1("Pad", attrs("mode", "reflect"), x, k(vec(2, 1))), s(6), 3, 2, 1, 2, 3, 2);
        assertTensor(run1("Pad", attrs("mode", "wrap"), x, k(vec(2, 1))), s(6), 2, 3, 1, 2, 3, 1);
        // pads wider than the axis keep reflecting: period 2(d-1) = 4
        assertTensor(run1("Pad", attrs("mode", "reflect"), x, vec(4, 0)), s(7), 1, 2, 3, 2, 1, 2, 3);
        assertTensor(run1("Pad", NONE, x, vec(-1, 1)), s(3), 2, 3, 0);
    }

    @Test void padInt32AxesAndTwoDims() {
        Tensor x = i32(s(2, 2), 1, 2, 3, 4);
        assertLongs(run1("Pad", NONE, x, k(vec(1, 0)), k(Tensor.scalarLong(DType.I32, -5)), k(vec(-1))),
                DType.I32, s(2, 3), -5, 1, 2, -5, 3, 4);
        assertLongs(run1("Pad", attrs("mode", "edge"), x, vec(1, 0, 0, 1)), DType.I32, s(3, 3), 1, 2, 2, 1, 2, 2, 3, 4, 4);
        assertLongs(run1("Pad", attrs("mode", "wrap"), x, vec(0, 1, 0, 0)), DType.I32, s(2, 3), 2, 1, 2, 4, 3, 4);
    }

    @Test void padShapeRuleAndErrors() {
        var x = type(DType.F32, "N,3,4");
        assertEquals(parse("N,5,7"), infer("Pad", NONE, x, k(vec(0, 1, 1, 0, 1, 2))).shape());
        assertEquals(parse("N,3,6"), infer("Pad", NONE, x, k(vec(1, 1, -1, 1)), null, k(vec(0, 2))).shape());
        assertEquals(parse("?,?,?"), infer("Pad", NONE, x, type(DType.I64, "6")).shape());
        assertThrows(InvalidModelException.class, () -> infer("Pad", attrs("mode", "mirror"), x, k(vec(0, 0, 0, 0, 0, 0))));
        assertThrows(KilnException.class, () -> infer("Pad", NONE, x, k(vec(0, 0))));
        assertThrows(KilnException.class, () -> infer("Pad", NONE, x, k(vec(0, 0, 0, 0, 0, 0)), type(DType.I32, "")));
    }
}
