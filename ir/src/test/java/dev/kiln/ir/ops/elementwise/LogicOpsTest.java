package dev.kiln.ir.ops.elementwise;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.Shape;
import dev.kiln.ir.ShapeException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static dev.kiln.ir.ops.elementwise.Run.*;
import static org.junit.jupiter.api.Assertions.*;

class LogicOpsTest {
    private static boolean[] bools(Tensor t) {
        boolean[] r = new boolean[t.numel()];
        for (int i = 0; i < r.length; i++) r[i] = t.getBool(i);
        return r;
    }

    @Test void comparisonsTreatNaNAsUnordered() {
        Tensor a = f32(s(3), 1, Double.NaN, 2), b = f32(s(3), 2, Double.NaN, 2);
        assertArrayEquals(new boolean[] {true, false, false}, bools(one("Less", a, b)));
        assertArrayEquals(new boolean[] {true, false, true}, bools(one("LessOrEqual", a, b)));
        assertArrayEquals(new boolean[] {false, false, true}, bools(one("Equal", a, b)));
        assertArrayEquals(new boolean[] {false, false, false}, bools(one("Greater", a, b)));
        assertArrayEquals(new boolean[] {false, false, true}, bools(one("GreaterOrEqual", a, b)));
    }

    @Test void u64ComparesUnsigned() {
        Tensor a = Tensor.ofLongs(DType.U64, s(1), new long[] {-1}), b = Tensor.ofLongs(DType.U64, s(1), new long[] {1});
        assertTrue(one("Greater", a, b).getBool(0));
    }

    @Test void equalOnStringsBroadcasts() {
        Tensor a = Tensor.ofStrings(s(2), new String[] {"string1", "string2"}), b = Tensor.ofStrings(s(1), new String[] {"string1"});
        Tensor r = one("Equal", a, b);
        assertEquals(DType.BOOL, r.dtype());
        assertArrayEquals(new boolean[] {true, false}, bools(r));
        assertThrows(ShapeException.class, () -> one("Less", a, b));
    }

    @Test void booleanLogic() {
        Tensor a = Tensor.ofBools(s(4), new boolean[] {false, false, true, true});
        Tensor b = Tensor.ofBools(s(4), new boolean[] {false, true, false, true});
        assertArrayEquals(new boolean[] {false, false, false, true}, bools(one("And", a, b)));
        assertArrayEquals(new boolean[] {false, true, true, true}, bools(one("Or", a, b)));
        assertArrayEquals(new boolean[] {false, true, true, false}, bools(one("Xor", a, b)));
        assertArrayEquals(new boolean[] {true, true, false, false}, bools(one("Not", a)));
        assertThrows(ShapeException.class, () -> one("And", f32(s(1), 1), f32(s(1), 1)));
    }

    @Test void isNaNAndIsInfWithDirections() {
        Tensor x = f32(s(4), Double.NEGATIVE_INFINITY, Double.NaN, 1, Double.POSITIVE_INFINITY);
        assertArrayEquals(new boolean[] {false, true, false, false}, bools(one("IsNaN", x)));
        assertArrayEquals(new boolean[] {true, false, false, true}, bools(one("IsInf", x)));
        assertArrayEquals(new boolean[] {false, false, false, true}, bools(one("IsInf", Map.of("detect_negative", Attr.of(0)), x)));
        assertArrayEquals(new boolean[] {true, false, false, false}, bools(one("IsInf", Map.of("detect_positive", Attr.of(0)), x)));
    }

    @Test void whereSelectsWithBroadcastIncludingStrings() {
        Tensor c = Tensor.ofBools(s(2, 2), new boolean[] {true, false, true, true});
        Tensor x = Tensor.ofLongs(DType.I64, s(2, 2), new long[] {1, 2, 3, 4});
        Tensor y = Tensor.ofLongs(DType.I64, s(1), new long[] {9});
        assertArrayEquals(new long[] {1, 9, 3, 4}, one("Where", c, x, y).toLongs());
        Tensor sx = Tensor.ofStrings(s(2), new String[] {"a", "b"}), sy = Tensor.ofStrings(s(2), new String[] {"c", "d"});
        Tensor r = one("Where", Tensor.ofBools(s(2), new boolean[] {false, true}), sx, sy);
        assertArrayEquals(new String[] {"c", "b"}, r.toStrings());
    }

    @Test void comparisonShapeRuleGivesBoolWithSymbolicDims() {
        TensorType a = new TensorType(DType.I32, Shape.of(Dim.sym("N"), Dim.of(5)));
        assertEquals(new TensorType(DType.BOOL, a.shape()), infer("Equal", Map.of(), a, TensorType.of(DType.I32, 5)));
        TensorType c = new TensorType(DType.BOOL, Shape.of(Dim.sym("N"), Dim.of(1)));
        assertEquals(new TensorType(DType.F32, Shape.of(Dim.sym("N"), Dim.of(5))),
                infer("Where", Map.of(), c, TensorType.of(DType.F32, 5), TensorType.of(DType.F32, 1)));
        assertThrows(ShapeException.class, () -> infer("Where", Map.of(), TensorType.of(DType.F32, 1), TensorType.of(DType.F32, 1), TensorType.of(DType.F32, 1)));
    }
}
