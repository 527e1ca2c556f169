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

/** Softmax, LogSoftmax, Hardmax along one axis. Expected values: e^x_i / sum e^x worked out by hand. */
class SoftmaxTest {
    static final double RTOL = 1e-6; // f32

    @Test void softmaxOfOneTwoThree() {
        double s = Math.E + Math.E * Math.E + Math.pow(Math.E, 3);
        Tensor y = run1("Softmax", Map.of(), f32(s(1, 3), 1, 2, 3));
        assertClose(new double[] {Math.E / s, Math.E * Math.E / s, Math.pow(Math.E, 3) / s}, y, RTOL);
        // 0.09003057, 0.24472847, 0.66524096
        assertClose(new double[] {0.09003057, 0.24472847, 0.66524096}, y, 1e-6);
    }

    @Test void largeInputsDoNotOverflow() {
        Tensor y = run1("Softmax", Map.of(), f32(s(2), 1000, 1001));
        assertClose(new double[] {1 / (1 + Math.E), Math.E / (1 + Math.E)}, y, RTOL);
    }

    @Test void axisZero() {
        // columns [1,3] and [2,2]: softmax([1,3]) = [1/(1+e^2), e^2/(1+e^2)], softmax([2,2]) = [.5,.5]
        Tensor y = run1("Softmax", Map.of("axis", Attr.of(0)), f32(s(2, 2), 1, 2, 3, 2));
        double a = 1 / (1 + Math.exp(2));
        assertClose(new double[] {a, 0.5, 1 - a, 0.5}, y, RTOL);
    }

    @Test void logSoftmax() {
        Tensor y = run1("LogSoftmax", Map.of(), f32(s(3), 1, 2, 3));
        assertClose(new double[] {-2.40760596, -1.40760596, -0.40760596}, y, 1e-6);
        Tensor big = run1("LogSoftmax", Map.of(), f64(s(2), 1000, 1000));
        assertClose(new double[] {-Math.log(2), -Math.log(2)}, big, 1e-15);
    }

    @Test void hardmaxMarksTheFirstMaximum() {
        Tensor y = run1("Hardmax", Map.of(), f32(s(2, 3), 3, 0, 3, 1, 2, 0));
        assertClose(new double[] {1, 0, 0, 0, 1, 0}, y, 0);
        Tensor z = run1("Hardmax", Map.of("axis", Attr.of(0)), f32(s(2, 3), 3, 0, 3, 1, 2, 0));
        assertClose(new double[] {1, 0, 1, 0, 1, 0}, z, 0);
    }

    @Test void halfPrecisionKeepsItsType() {
        Tensor y = run1("Softmax", Map.of(), Tensor.ofDoubles(DType.F16, s(2), new double[] {0, 0}));
        assertEquals(DType.F16, y.dtype());
        assertEquals(0.5, y.getDouble(0));
    }

    @Test void shapesAndErrors() {
        TensorType x = new TensorType(DType.F32, Shape.of(Dim.sym("B"), Dim.of(4)));
        assertEquals(x, infer("LogSoftmax", Map.of(), 1, x).get(0));
        assertThrows(ShapeException.class, () -> infer("Softmax", Map.of("axis", Attr.of(2)), 1, x));
        assertThrows(KilnException.class, () -> infer("Softmax", Map.of(), 1, TensorType.of(DType.I32, 3)));
    }
}
