package dev.kiln.ir.ops.reduction;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.InvalidModelException;
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

/**
 * The normalizations, on tensors small enough to work out by hand. Rows [1,2,3] and [4,6,8] have means 2
 * and 6 and population variances 2/3 and 8/3, so with epsilon 0 both normalize to [-k, 0, k], k = sqrt(3/2).
 */
class NormalizationTest {
    static final double RTOL = 1e-6; // f32 outputs
    static final double K = Math.sqrt(1.5);
    static final Map<String, Attr> EPS0 = Map.of("epsilon", Attr.of(0.0));

    @Test void layerNormWithScaleBiasAndStats() {
        List<Tensor> r = run("LayerNormalization", EPS0, 3, f32(s(2, 3), 1, 2, 3, 4, 6, 8),
                f32(s(3), 1, 2, 3), f32(s(3), 0.5, 0.5, 0.5));
        assertClose(new double[] {-K + 0.5, 0.5, 3 * K + 0.5, -K + 0.5, 0.5, 3 * K + 0.5}, r.get(0), RTOL);
        assertShape(r.get(1), 2, 1);
        assertClose(new double[] {2, 6}, r.get(1), RTOL);
        assertClose(new double[] {1 / Math.sqrt(2.0 / 3), 1 / Math.sqrt(8.0 / 3)}, r.get(2), RTOL);
    }

    @Test void layerNormOverAllAxesWithoutBias() {
        List<Tensor> r = run("LayerNormalization", Map.of("axis", Attr.of(0), "epsilon", Attr.of(0.0)), 1,
                f32(s(2, 2), 1, 3, 1, 3), f32(s(2, 2), 1, 1, 2, 2), null);
        assertClose(new double[] {-1, 1, -2, 2}, r.get(0), RTOL);
    }

    @Test void layerNormEpsilonIsAddedToVariance() {
        // [0, 2]: mean 1, var 1; eps 3 -> inv = 1/2
        Tensor y = run1("LayerNormalization", Map.of("epsilon", Attr.of(3.0)), f32(s(2), 0, 2), f32(s(1), 1));
        assertClose(new double[] {-0.5, 0.5}, y, RTOL);
    }

    @Test void layerNormShapesAndStashType() {
        TensorType x = new TensorType(DType.F16, Shape.of(Dim.sym("B"), Dim.sym("T"), Dim.of(8)));
        List<TensorType> t = infer("LayerNormalization", Map.of(), 3, x, TensorType.of(DType.F16, 8), TensorType.of(DType.F16, 8));
        assertEquals(x, t.get(0));
        assertEquals(new TensorType(DType.F32, Shape.of(Dim.sym("B"), Dim.sym("T"), Dim.of(1))), t.get(1));
        List<TensorType> d = infer("LayerNormalization", Map.of("axis", Attr.of(1), "stash_type", Attr.of(11)), 3,
                x, TensorType.of(DType.F16, 8));
        assertEquals(new TensorType(DType.F64, Shape.of(Dim.sym("B"), Dim.of(1), Dim.of(1))), d.get(2));
        assertThrows(InvalidModelException.class,
                () -> infer("LayerNormalization", Map.of("stash_type", Attr.of(7)), 1, x, TensorType.of(DType.F16, 8)));
        assertThrows(ShapeException.class,
                () -> infer("LayerNormalization", Map.of("axis", Attr.of(3)), 1, x, TensorType.of(DType.F16, 8)));
        assertThrows(KilnException.class, () -> run1("LayerNormalization", Map.of(), Tensor.zeros(DType.F32, s(2, 3)), f32(s(2), 1, 1)));
    }

    @Test void rmsNorm() {
        // [3, 4]: mean square 12.5, rms sqrt(12.5)
        double r = Math.sqrt(12.5);
        Tensor y = run1("RMSNormalization", EPS0, f32(s(1, 2), 3, 4), f32(s(2), 1, 2));
        assertClose(new double[] {3 / r, 8 / r}, y, RTOL);
        Tensor z = run1("RMSNormalization", Map.of("axis", Attr.of(0), "epsilon", Attr.of(0.0)),
                f32(s(2, 1), 3, 4), f32(s(2, 1), 1, -1));
        assertClose(new double[] {3 / r, -4 / r}, z, RTOL);
    }

    @Test void instanceNorm() {
        // channel 0 [1,2,3] -> [-k,0,k]; channel 1 is constant, so it normalizes to 0 and gives its bias
        Tensor y = run1("InstanceNormalization", Map.of("epsilon", Attr.of(1e-30)),
                f32(s(1, 2, 1, 3), 1, 2, 3, 2, 2, 2), f32(s(2), 2, 1), f32(s(2), 0, 5));
        assertClose(new double[] {-2 * K, 0, 2 * K, 5, 5, 5}, y, RTOL);
        assertThrows(KilnException.class, () -> run1("InstanceNormalization", Map.of(),
                Tensor.zeros(DType.F32, s(1, 2, 3)), f32(s(3), 1, 1, 1), f32(s(2), 0, 0)));
    }

    @Test void groupNormPerChannelScale() {
        // groups {1,3} (mean 2, var 1) and {10,20} (mean 15, var 25) both normalize to [-1, 1]
        Tensor y = run1("GroupNormalization", Map.of("num_groups", Attr.of(2), "epsilon", Attr.of(0.0)),
                f32(s(1, 4, 1, 1), 1, 3, 10, 20), f32(s(4), 1, 2, 3, 4), f32(s(4), 0, 0, 0, 1));
        assertClose(new double[] {-1, 2, -3, 5}, y, RTOL);
        Tensor one = run1("GroupNormalization", Map.of("num_groups", Attr.of(1), "epsilon", Attr.of(0.0)),
                f32(s(1, 2, 2), 0, 0, 2, 2), f32(s(2), 1, 1), f32(s(2), 0, 0));   // one group of [0,0,2,2]
        assertClose(new double[] {-1, -1, 1, 1}, one, RTOL);
    }

    @Test void groupNormErrors() {
        TensorType x = TensorType.of(DType.F32, 1, 4, 2);
        TensorType c = TensorType.of(DType.F32, 4);
        assertThrows(ShapeException.class, () -> infer("GroupNormalization", Map.of("num_groups", Attr.of(3)), 1, x, c, c));
        assertThrows(InvalidModelException.class, () -> infer("GroupNormalization", Map.of("num_groups", Attr.of(0)), 1, x, c, c));
        assertThrows(InvalidModelException.class, () -> infer("GroupNormalization", Map.of(), 1, x, c, c));
    }

    @Test void batchNormInference() {
        // channel 0: (1-0)/1*2+0 = 2; channel 1: (4-2)/2*1+1 = 2
        Tensor y = run1("BatchNormalization", EPS0, f32(s(1, 2, 1, 1), 1, 4),
                f32(s(2), 2, 1), f32(s(2), 0, 1), f32(s(2), 0, 2), f32(s(2), 1, 4));
        assertClose(new double[] {2, 2}, y, RTOL);
    }

    @Test void batchNormTrainingUpdatesRunningStats() {
        // batch [1,3]: mean 2, var 1 -> y [-1,1]; running mean 0*.9+2*.1 = .2, var 2*.9+1*.1 = 1.9
        List<Tensor> r = run("BatchNormalization", Map.of("training_mode", Attr.of(1), "epsilon", Attr.of(0.0)), 3,
                f32(s(2, 1), 1, 3), f32(s(1), 1), f32(s(1), 0), f32(s(1), 0), f32(s(1), 2));
        assertClose(new double[] {-1, 1}, r.get(0), RTOL);
        assertClose(new double[] {0.2}, r.get(1), RTOL);
        assertClose(new double[] {1.9}, r.get(2), RTOL);
        assertThrows(InvalidModelException.class, () -> infer("BatchNormalization", Map.of("training_mode", Attr.of(2)), 1,
                TensorType.of(DType.F32, 2, 1), f32(s(1), 1), f32(s(1), 0), f32(s(1), 0), f32(s(1), 2)));
        assertThrows(KilnException.class, () -> run1("BatchNormalization", Map.of(), f32(s(1, 2), 1, 2),
                f32(s(1), 1), f32(s(1), 0), f32(s(1), 0), f32(s(1), 2)));
    }

    @Test void meanVarianceNormalization() {
        // default axes [0,2,3]: channel 0 [1,3] -> [-1,1]; channel 1 is constant -> 0
        Tensor y = run1("MeanVarianceNormalization", Map.of(), f32(s(1, 2, 1, 2), 1, 3, 10, 10));
        assertClose(new double[] {-1, 1, 0, 0}, y, RTOL);
        Tensor z = run1("MeanVarianceNormalization", Map.of("axes", Attr.ints(1)), f32(s(2, 2), 1, 3, 5, 5));
        assertClose(new double[] {-1, 1, 0, 0}, z, RTOL);
        assertThrows(ShapeException.class, () -> infer("MeanVarianceNormalization", Map.of(), 1, TensorType.of(DType.F32, 2, 2)));
    }

    @Test void lpNormalization() {
        assertClose(new double[] {0.6, 0.8}, run1("LpNormalization", Map.of(), f32(s(2), 3, 4)), RTOL);
        assertClose(new double[] {3.0 / 7, -4.0 / 7}, run1("LpNormalization", Map.of("p", Attr.of(1)), f32(s(2), 3, -4)), RTOL);
        // columns [3,0] and [4,0]
        assertClose(new double[] {1, 1, 0, 0}, run1("LpNormalization", Map.of("axis", Attr.of(0)), f32(s(2, 2), 3, 4, 0, 0)), RTOL);
        assertThrows(InvalidModelException.class, () -> infer("LpNormalization", Map.of("p", Attr.of(3)), 1, TensorType.of(DType.F32, 2)));
    }
}
