package dev.kiln.ir.ops.reduction;

import dev.kiln.ir.Tensor;
import dev.kiln.ir.op.EvalContext;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.Shapes;

import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Softmax, LogSoftmax and Hardmax with their opset-13 semantics: along one {@code axis} (default -1), each
 * a function from one slice along the axis to the slice of results, computed in double (max subtracted
 * first, so large inputs do not overflow) and rounded once into the input's float type.
 */
public final class Softmaxes {
    private Softmaxes() {}

    public static final List<OpDef.Builder> DEFS = List.of(
            def("Softmax", Softmaxes::softmax),
            def("LogSoftmax", Softmaxes::logSoftmax),
            def("Hardmax", Softmaxes::hardmax));

    private static OpDef.Builder def(String name, UnaryOperator<double[]> f) {
        return OpDef.op(name).inputs(1).outputs(1)
                .infer(c -> {
                    var x = Kernels.requireFloat(c, 0);
                    if (x.shape().ranked()) AxisOps.axis(c, c.node().attrInt("axis", -1), x.rank());
                    return List.of(x);
                })
                .eval(c -> List.of(alongAxis(c, f)));
    }

    /** Applies {@code f} to every slice of input 0 along the node's {@code axis}. */
    private static Tensor alongAxis(EvalContext c, UnaryOperator<double[]> f) {
        Tensor x = c.input(0);
        if (x.rank() == 0) throw c.error(c.node().op() + " needs an input of rank 1 or more");
        Kernels.Split sp = Kernels.Split.at(x.shape(), Shapes.axis(c.node().attrInt("axis", -1), x.rank()));
        double[] out = new double[x.numel()], slice = new double[sp.n()];
        for (int o = 0; o < sp.outer(); o++)
            for (int i = 0; i < sp.inner(); i++) {
                for (int k = 0; k < sp.n(); k++) slice[k] = x.getDouble(sp.index(o, k, i));
                double[] r = f.apply(slice);
                for (int k = 0; k < sp.n(); k++) out[sp.index(o, k, i)] = r[k];
            }
        return Tensor.ofDoubles(x.dtype(), x.shape(), out);
    }

    private static double max(double[] v) {
        double m = Double.NEGATIVE_INFINITY;
        for (double d : v) m = Math.max(m, d);
        return m;
    }

    /** exp(x - max) / sum exp(x - max) */
    static double[] softmax(double[] v) {
        double m = max(v), s = 0;
        double[] r = new double[v.length];
        for (int k = 0; k < v.length; k++) s += r[k] = Math.exp(v[k] - m);
        for (int k = 0; k < v.length; k++) r[k] /= s;
        return r;
    }

    /** x - max - log(sum exp(x - max)) */
    static double[] logSoftmax(double[] v) {
        double m = max(v), s = 0;
        for (double d : v) s += Math.exp(d - m);
        double lse = m + Math.log(s);
        double[] r = new double[v.length];
        for (int k = 0; k < v.length; k++) r[k] = v[k] - lse;
        return r;
    }

    /** 1 at the first largest element (NaN counts as largest), 0 elsewhere. */
    static double[] hardmax(double[] v) {
        double[] r = new double[v.length];
        int best = 0;
        for (int k = 1; k < v.length; k++) if (Kernels.compareFloat(v[k], v[best]) > 0) best = k;
        if (v.length > 0) r[best] = 1;
        return r;
    }
}
