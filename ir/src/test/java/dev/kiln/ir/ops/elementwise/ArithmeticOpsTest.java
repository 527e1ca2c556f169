package dev.kiln.ir.ops.elementwise;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.EvaluationException;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.Shape;
import dev.kiln.ir.ShapeException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static dev.kiln.ir.ops.elementwise.Run.*;
import static org.junit.jupiter.api.Assertions.*;

class ArithmeticOpsTest {
    @Test void addBroadcastsRowOverMatrix() {
        Tensor y = one("Add", f32(s(2, 3), 1, 2, 3, 4, 5, 6), f32(s(3), 10, 20, 30));
        assertArrayEquals(new long[] {2, 3}, y.shape());
        assertDoubles(new double[] {11, 22, 33, 14, 25, 36}, y, 0);   // exact in f32
    }

    @Test void integerArithmeticWrapsLikeC() {
        Tensor a = Tensor.ofLongs(DType.I8, s(2), new long[] {127, -128});
        assertArrayEquals(new long[] {-128, 127}, one("Add", a, Tensor.ofLongs(DType.I8, s(2), new long[] {1, -1})).toLongs());
        Tensor u = Tensor.ofLongs(DType.U8, s(1), new long[] {3});
        assertArrayEquals(new long[] {254}, one("Sub", u, Tensor.ofLongs(DType.U8, s(1), new long[] {5})).toLongs()); // 3-5 mod 256
    }

    @Test void integerDivisionTruncatesAndU64IsUnsigned() {
        Tensor a = Tensor.ofLongs(DType.I32, s(4), new long[] {-3, 3, -3, 3});
        Tensor b = Tensor.ofLongs(DType.I32, s(4), new long[] {2, 2, -2, -2});
        assertArrayEquals(new long[] {-1, 1, 1, -1}, one("Div", a, b).toLongs());
        Tensor big = Tensor.ofLongs(DType.U64, s(1), new long[] {-2});   // 2^64 - 2
        assertEquals(Long.MAX_VALUE, one("Div", big, Tensor.ofLongs(DType.U64, s(1), new long[] {2})).getLong(0)); // (2^64-2)/2 = 2^63-1
    }

    @Test void integerDivisionByZeroIsATypedError() {
        Tensor a = Tensor.ofLongs(DType.I32, s(1), new long[] {1});
        EvaluationException e = assertThrows(EvaluationException.class, () -> one("Div", a, Tensor.ofLongs(DType.I32, s(1), new long[] {0})));
        assertEquals("Div", e.op());
    }

    @Test void modFollowsDivisorUnlessFmod() {
        Tensor a = Tensor.ofLongs(DType.I32, s(4), new long[] {-4, 7, 5, -5});
        Tensor b = Tensor.ofLongs(DType.I32, s(4), new long[] {3, -3, 2, -3});
        assertArrayEquals(new long[] {2, -2, 1, -2}, one("Mod", a, b).toLongs());               // Python %
        assertArrayEquals(new long[] {-1, 1, 1, -2}, one("Mod", Map.of("fmod", Attr.of(1)), a, b).toLongs()); // C fmod
        Tensor fa = f32(s(2), -4.5, 5.25), fb = f32(s(2), 2, -2);
        assertDoubles(new double[] {-0.5, 1.25}, one("Mod", Map.of("fmod", Attr.of(1)), fa, fb), 0);
        assertThrows(ShapeException.class, () -> one("Mod", fa, fb));   // floats need fmod=1
        assertThrows(InvalidModelException.class, () -> one("Mod", Map.of("fmod", Attr.of(2)), a, b));
    }

    @Test void powKeepsBaseTypeAndIsExactForIntegers() {
        Tensor x = Tensor.ofLongs(DType.I64, s(3), new long[] {3, -2, 2});
        Tensor y = Tensor.ofLongs(DType.I64, s(3), new long[] {39, 3, 62});
        assertArrayEquals(new long[] {4052555153018976267L, -8, 1L << 62}, one("Pow", x, y).toLongs()); // 3^39 fits in i64
        Tensor xi = Tensor.ofLongs(DType.I32, s(3), new long[] {1, 2, 3});
        Tensor yf = f32(s(3), 4, 5, 6);
        Tensor r = one("Pow", xi, yf);
        assertEquals(DType.I32, r.dtype());
        assertArrayEquals(new long[] {1, 32, 729}, r.toLongs());
        assertDoubles(new double[] {2, 0.5}, one("Pow", f32(s(2), 4, 4), f32(s(2), 0.5, -0.5)), 0);
    }

    @Test void minMaxPropagateNaNAndCompareU64Unsigned() {
        assertDoubles(new double[] {Double.NaN, 3}, one("Max", f32(s(2), Double.NaN, 1), f32(s(2), 1, 3)), 0);
        Tensor a = Tensor.ofLongs(DType.U64, s(1), new long[] {-1}), b = Tensor.ofLongs(DType.U64, s(1), new long[] {1});
        assertEquals(-1L, one("Max", a, b).getLong(0));   // 2^64-1 is the larger
        assertEquals(1L, one("Min", a, b).getLong(0));
        assertDoubles(new double[] {1, 0}, one("Min", f32(s(2), 3, 0), f32(s(1), 1), f32(s(2), 5, 2)), 0);
    }

    @Test void sumAndMeanAreVariadicAndBroadcast() {
        assertDoubles(new double[] {6, 7}, one("Sum", f32(s(2), 1, 2), f32(s(1), 2), f32(s(2), 3, 3)), 0);
        assertDoubles(new double[] {2, 7.0 / 3}, one("Mean", f32(s(2), 1, 2), f32(s(1), 2), f32(s(2), 3, 3)), 1e-7);
        assertDoubles(new double[] {4}, one("Sum", f32(s(1), 4)), 0);
    }

    @Test void clipWithOptionalBounds() {
        Tensor x = f32(s(4), -2, 0.5, 3, Double.NaN);
        assertDoubles(new double[] {-1, 0.5, 1, Double.NaN}, one("Clip", x, f32(s(), -1), f32(s(), 1)), 0);
        assertDoubles(new double[] {-2, 0.5, 1, Double.NaN}, one("Clip", x, null, f32(s(), 1)), 0);
        assertDoubles(new double[] {-2, 0.5, 3, Double.NaN}, one("Clip", x), 0);
        // min > max: everything becomes max
        assertDoubles(new double[] {0, 0, 0}, one("Clip", f32(s(3), -5, 1, 5), f32(s(), 2), f32(s(), 0)), 0);
        Tensor i8 = Tensor.ofLongs(DType.I8, s(3), new long[] {-128, 0, 127});
        assertArrayEquals(new long[] {-128, 0, 100}, one("Clip", i8, null, Tensor.scalarLong(DType.I8, 100)).toLongs());
    }

    @Test void bitShiftBothWays() {
        Tensor x = Tensor.ofLongs(DType.U8, s(3), new long[] {16, 4, 1});
        Tensor n = Tensor.ofLongs(DType.U8, s(3), new long[] {1, 2, 8});
        assertArrayEquals(new long[] {32, 16, 0}, one("BitShift", Map.of("direction", Attr.of("LEFT")), x, n).toLongs());
        assertArrayEquals(new long[] {8, 1, 0}, one("BitShift", Map.of("direction", Attr.of("RIGHT")), x, n).toLongs());
        assertThrows(InvalidModelException.class, () -> one("BitShift", Map.of("direction", Attr.of("UP")), x, n));
        assertThrows(InvalidModelException.class, () -> one("BitShift", x, n));
    }

    @Test void preluBroadcastsSlopePerChannel() {
        Tensor x = f32(s(2, 2), -1, 2, -3, 4);
        assertDoubles(new double[] {-0.5, 2, -0.75, 4}, one("PRelu", x, f32(s(2, 1), 0.5, 0.25)), 0);
    }

    @Test void shapeRulesBroadcastSymbolicDims() {
        TensorType a = new TensorType(DType.F32, Shape.of(Dim.sym("N"), Dim.of(1), Dim.of(4)));
        TensorType b = new TensorType(DType.F32, Shape.of(Dim.of(3), Dim.of(1)));
        assertEquals(new TensorType(DType.F32, Shape.of(Dim.sym("N"), Dim.of(3), Dim.of(4))), infer("Add", Map.of(), a, b));
        assertEquals(new TensorType(DType.F32, Shape.UNRANKED), infer("Mul", Map.of(), a, new TensorType(DType.F32, Shape.UNRANKED)));
        TensorType i = new TensorType(DType.I32, Shape.of(Dim.sym("N")));
        assertEquals(DType.I32, infer("Pow", Map.of(), i, new TensorType(DType.F32, Shape.of(1))).dtype());
        assertThrows(ShapeException.class, () -> infer("Add", Map.of(), a, i));   // f32 + i32
        assertThrows(ShapeException.class, () -> infer("Add", Map.of(), TensorType.of(DType.F32, 2), TensorType.of(DType.F32, 3)));
    }
}
