package dev.kiln.ir.ops.elementwise;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.Shape;
import dev.kiln.ir.ShapeException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.op.OpRegistry;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static dev.kiln.ir.ops.elementwise.Run.*;
import static org.junit.jupiter.api.Assertions.*;

class MathOpsTest {
    @Test void erfMatchesTabulatedValues() {
        // erf(0.5), erf(1), erf(2), erf(3) from Abramowitz & Stegun table 7.1 / known constants
        assertEquals(0.5204998778130465, Erf.erf(0.5), 1e-15);
        assertEquals(0.8427007929497149, Erf.erf(1), 1e-15);
        assertEquals(0.9953222650189527, Erf.erf(2), 1e-15);
        assertEquals(-0.9999779095030014, Erf.erf(-3), 1e-15);
        assertEquals(0.0, Erf.erf(0), 0);
        assertEquals(1.0, Erf.erf(10), 0);
    }

    @Test void roundIsHalfToEven() {
        assertDoubles(new double[] {0, 2, 2, -2, -0, 3}, one("Round", f32(s(6), 0.5, 1.5, 2.5, -2.5, -0.4, 2.6)), 0);
    }

    @Test void activationsWithAttributesAndDefaults() {
        Tensor x = f32(s(3), -2, 0, 3);
        assertDoubles(new double[] {-2 * (double) 0.01f, 0, 3}, one("LeakyRelu", x), 1e-9);
        assertDoubles(new double[] {-0.2, 0, 3}, one("LeakyRelu", Map.of("alpha", Attr.of(0.1)), x), 1e-7);
        assertDoubles(new double[] {Math.exp(-2) - 1, 0, 3}, one("Elu", x), 1e-7);
        // HardSigmoid: max(0, min(1, 0.2x + 0.5))
        assertDoubles(new double[] {0.1, 0.5, 1}, one("HardSigmoid", x), 1e-7);
        // HardSwish: x * hardsigmoid(x; 1/6, 0.5): -2 * (1/6) = -1/3
        assertDoubles(new double[] {-1.0 / 3, 0, 3}, one("HardSwish", x), 1e-7);
        assertDoubles(new double[] {-1.5, 0, 2.5}, one("Shrink", Map.of("lambd", Attr.of(1.0), "bias", Attr.of(0.5)), x), 0);
        assertDoubles(new double[] {Math.log(1 + Math.exp(-2)), Math.log(2), 3 + Math.log(1 + Math.exp(-3))}, one("Softplus", x), 1e-6);
        assertDoubles(new double[] {-2.0 / 3, 0, 0.75}, one("Softsign", x), 1e-7);
        assertDoubles(new double[] {1 / (1 + Math.exp(2)), 0.5, 1 / (1 + Math.exp(-3))}, one("Sigmoid", x), 1e-7);
        // Celu alpha=2: max(0,x) + min(0, 2*(exp(x/2)-1))
        assertDoubles(new double[] {2 * (Math.exp(-1) - 1), 0, 3}, one("Celu", Map.of("alpha", Attr.of(2.0)), x), 1e-7);
    }

    @Test void seluDefaultsAreTheOnnxConstants() {
        double g = 1.0507009873554805, a = 1.6732632423543772;
        assertDoubles(new double[] {g * a * (Math.exp(-1) - 1), 2 * g}, one("Selu", f32(s(2), -1, 2)), 1e-6);
    }

    @Test void geluExactAndTanh() {
        Tensor x = f32(s(2), -1, 1);
        // 0.5 x (1 + erf(x / sqrt 2)) with erf(1/sqrt2) = 0.6826894921370859
        assertDoubles(new double[] {-0.5 * (1 - 0.6826894921370859), 0.5 * (1 + 0.6826894921370859)}, one("Gelu", x), 1e-7);
        double t = Math.tanh(Math.sqrt(2 / Math.PI) * 1.044715);
        assertDoubles(new double[] {-0.5 * (1 - t), 0.5 * (1 + t)}, one("Gelu", Map.of("approximate", Attr.of("tanh")), x), 1e-7);
        assertThrows(InvalidModelException.class, () -> one("Gelu", Map.of("approximate", Attr.of("fast")), x));
    }

    @Test void integerPathsAreExact() {
        Tensor i = Tensor.ofLongs(DType.I64, s(3), new long[] {Long.MIN_VALUE + 1, -5, 9007199254740993L});
        assertArrayEquals(new long[] {0, 0, 9007199254740993L}, one("Relu", i).toLongs());    // 2^53+1 survives
        assertArrayEquals(new long[] {Long.MAX_VALUE, 5, -9007199254740993L}, one("Neg", i).toLongs());
        assertArrayEquals(new long[] {-1, -1, 1}, one("Sign", i).toLongs());
        Tensor u = Tensor.ofLongs(DType.U64, s(1), new long[] {-1});
        assertArrayEquals(new long[] {-1}, one("Abs", u).toLongs());   // 2^64-1 is not negative
    }

    @Test void floatOnlyOpsRejectIntegers() {
        ShapeException e = assertThrows(ShapeException.class,
                () -> infer("Sqrt", Map.of(), TensorType.of(DType.I32, 3)));
        assertEquals("Sqrt", e.op());
    }

    @Test void unaryShapeRuleKeepsSymbolicDims() {
        TensorType t = new TensorType(DType.F16, Shape.of(Dim.sym("B"), Dim.UNKNOWN, Dim.of(8)));
        assertEquals(t, infer("Tanh", Map.of(), t));
        assertEquals(t, infer("Gelu", Map.of(), t));
    }

    @Test void everyElementwiseOpHasAFloat32CExpressionOrIsAttributeDriven() {
        for (String op : new String[] {"Add", "Exp", "Sigmoid", "Where", "Equal", "Relu", "Erf"})
            assertNotNull(OpRegistry.standard().get(op).cExpr(), op);
        assertEquals("$0 < 0.f ? 0.f : $0", OpRegistry.standard().get("Relu").cExpr());
    }

    @Test void float16ResultsRoundOnce() {
        Tensor h = Tensor.ofDoubles(DType.F16, s(1), new double[] {2});
        // sqrt(2) = 1.41421356...; nearest f16 is 1.4140625 (0x3DA8)
        Tensor r = one("Sqrt", h);
        assertEquals(DType.F16, r.dtype());
        assertEquals(0x3DA8, r.getBits(0));
    }
}
