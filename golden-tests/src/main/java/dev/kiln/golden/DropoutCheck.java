package dev.kiln.golden;

import dev.kiln.ir.Tensor;

import java.util.Arrays;
import java.util.List;

/**
 * Training-mode Dropout draws random masks, so its expected outputs cannot be reproduced. As the suite README
 * says, check only shape and dtype, that each output element is 0 or x/(1-ratio), and that the mask agrees.
 */
final class DropoutCheck {
    private DropoutCheck() {}

    static Comparison check(Tensor x, List<Tensor> actual, int k, Tensor expected) {
        Tensor a = actual.get(k);
        if (a.dtype() != expected.dtype() || !Arrays.equals(a.shape(), expected.shape()))
            return new Comparison(false, Double.NaN, "dtype/shape " + a.dtype() + Arrays.toString(a.shape())
                    + ", expected " + expected.dtype() + Arrays.toString(expected.shape()));
        if (k != 0) return new Comparison(true, 0, "");
        Tensor mask = actual.size() > 1 ? actual.get(1) : null;
        double scale = Double.NaN;
        for (int i = 0; i < a.numel(); i++) {
            double y = a.getDouble(i), xi = x.getDouble(i);
            boolean kept = y != 0 || xi == 0;
            if (mask != null && mask.getBool(i) != kept && xi != 0)
                return new Comparison(false, Double.NaN, "element " + i + ": mask disagrees with output");
            if (y == 0) continue;
            double s = y / xi;
            if (Double.isNaN(scale)) scale = s;
            if (Math.abs(s - scale) > 1e-5 * Math.abs(scale))
                return new Comparison(false, Double.NaN, "element " + i + ": kept elements are not scaled uniformly");
        }
        return new Comparison(true, 0, "");
    }
}
