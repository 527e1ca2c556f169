package dev.kiln.passes;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.Value;
import dev.kiln.ir.op.Shapes;

import java.util.HashMap;
import java.util.Map;

/**
 * The rewrite behind each {@link Canonicalize} rule: one method per op, each building the op from
 * primitives with the reference's numerics in mind (two-pass variance, epsilon inside the square root,
 * max-subtracted exponentials, low-precision floats normalized in f32). A method returns the value that
 * replaces the node's first output, or null when its preconditions fail; it checks them all before it
 * emits anything.
 */
final class Decompositions {
    private Decompositions() {}

    /** One decomposition: the value standing for {@code n}'s output 0, or null when it does not apply. */
    @FunctionalInterface
    interface Rule { Value apply(Node n, Emitter e); }

    // ---- small builders ----

    private static Value op(Emitter e, Node n, String op, Value... in) { return e.op(op, Map.of(), n.origin(), in); }

    private static Value reduce(Emitter e, Node n, String op, Value x, long[] axes, boolean keep) {
        return e.op(op, Map.of("keepdims", Attr.of(keep ? 1 : 0)), n.origin(), x, e.longs(axes));
    }

    private static Value reshape(Emitter e, Node n, Value x, long... shape) { return op(e, n, "Reshape", x, e.longs(shape)); }

    /** A [C] parameter as [C,1,...,1] so it broadcasts along axis 1 of a rank-{@code rank} tensor. */
    private static Value perChannel(Emitter e, Node n, Value p, int rank) {
        long[] s = new long[Math.max(rank - 1, 1)];
        java.util.Arrays.fill(s, 1);
        s[0] = p.shape().numel();
        return reshape(e, n, p, s);
    }

    private static long count(Value x, long[] axes) {
        long k = 1;
        for (long a : axes) k *= x.shape().dim((int) a).size();
        return k;
    }

    private static long[] range(int from, int to) {
        long[] r = new long[Math.max(to - from, 0)];
        for (int i = 0; i < r.length; i++) r[i] = from + i;
        return r;
    }

    private static boolean onlyFirstOutput(Node n) {
        for (int i = 1; i < n.outputs().size(); i++) if (!n.output(i).isNone()) return false;
        return true;
    }

    private static boolean staticFloat(Value x) { return x.dtype().isFloat() && x.shape().isStatic(); }

    /**
     * (x - mean) / sqrt(var + eps) over {@code axes} (keepdims), or x / sqrt(mean(x²) + eps) for RMS; f16 and
     * bf16 are computed in f32 and cast back, like the reference's wider accumulation.
     */
    private static Value normalize(Emitter e, Node n, Value x, long[] axes, double eps, boolean rms) {
        DType dt = x.dtype();
        boolean widen = dt.isLowPrecisionFloat();
        Value xf = widen ? e.op("Cast", Map.of("to", Attr.of(DType.F32.onnxCode())), n.origin(), x) : x;
        DType ct = xf.dtype();
        Value k = e.scalar(ct, count(x, axes));
        Value d = rms ? xf : op(e, n, "Sub", xf, op(e, n, "Div", reduce(e, n, "ReduceSum", xf, axes, true), k));
        Value var = op(e, n, "Div", reduce(e, n, "ReduceSum", op(e, n, "Mul", d, d), axes, true), k);
        Value y = op(e, n, "Div", d, op(e, n, "Sqrt", op(e, n, "Add", var, e.scalar(ct, eps))));
        return widen ? e.op("Cast", Map.of("to", Attr.of(dt.onnxCode())), n.origin(), y) : y;
    }

    /** The reduction axes of a ReduceX node (sorted, non-negative), {@code []} for a no-op, null when unknown. */
    private static long[] reduceAxes(Node n, Emitter e, Value x) {
        long[] axes;
        if (n.hasInput(1)) {
            Tensor t = e.constant(e.get(n.input(1)));
            if (t == null) return null;
            axes = t.toLongs();
        } else axes = new long[0];
        if (axes.length == 0) return n.attrInt("noop_with_empty_axes", 0) != 0 ? axes : range(0, x.shape().rank());
        for (int i = 0; i < axes.length; i++) axes[i] = Shapes.axis(axes[i], x.shape().rank());
        java.util.Arrays.sort(axes);
        return axes;
    }

    // ---- the rules ----

    /** Split(x) -> Slice(x, [off_i], [off_i + size_i], [axis]) per output; false when a part's size is unknown. */
    static boolean split(Node n, Emitter e) {
        Value x = n.input(0);
        if (!x.shape().isStatic()) return false;
        for (Value o : n.outputs()) if (o.isNone() || !o.shape().isStatic()) return false;
        int axis = dev.kiln.ir.op.Shapes.axis(n.attrInt("axis", 0), x.shape().rank());
        long off = 0;
        for (int i = 0; i < n.outputs().size(); i++) {
            long size = n.output(i).shape().dim(axis).size();
            e.bind(n, i, op(e, n, "Slice", e.get(x), e.longs(off), e.longs(off + size), e.longs(axis)));
            off += size;
        }
        return true;
    }

    static Value gemm(Node n, Emitter e) {
        Value a = e.get(n.input(0)), b = e.get(n.input(1));
        double alpha = n.attrFloat("alpha", 1.0), beta = n.attrFloat("beta", 1.0);
        if (!a.dtype().isFloat() && (alpha != 1 || beta != 1)) return null;
        Map<String, Attr> t = Map.of("perm", Attr.ints(1, 0));
        if (n.attrInt("transA", 0) != 0) a = e.op("Transpose", t, n.origin(), a);
        if (n.attrInt("transB", 0) != 0) b = e.op("Transpose", t, n.origin(), b);
        Value y = op(e, n, "MatMul", a, b);
        if (alpha != 1) y = op(e, n, "Mul", y, e.scalar(y.dtype(), alpha));
        if (n.hasInput(2) && beta != 0) {
            Value c = e.get(n.input(2));
            y = op(e, n, "Add", y, beta == 1 ? c : op(e, n, "Mul", c, e.scalar(c.dtype(), beta)));
        }
        return y;
    }

    static Value softmax(Node n, Emitter e) { return softmaxes(n, e, false); }

    static Value logSoftmax(Node n, Emitter e) { return softmaxes(n, e, true); }

    private static Value softmaxes(Node n, Emitter e, boolean log) {
        Value x = e.get(n.input(0));
        if (!x.dtype().isFloat() || !x.shape().ranked()) return null;
        long[] ax = {Shapes.axis(n.attrInt("axis", -1), x.shape().rank())};
        Value d = op(e, n, "Sub", x, reduce(e, n, "ReduceMax", x, ax, true));  // max-subtracted: exp never overflows
        Value ex = op(e, n, "Exp", d);
        Value s = reduce(e, n, "ReduceSum", ex, ax, true);
        return log ? op(e, n, "Sub", d, op(e, n, "Log", s)) : op(e, n, "Div", ex, s);
    }

    static Value layerNorm(Node n, Emitter e) {
        Value x = e.get(n.input(0));
        if (!staticFloat(x) || !onlyFirstOutput(n)) return null;
        int r = x.shape().rank();
        long[] axes = range(Shapes.axis(n.attrInt("axis", -1), r), r);
        Value y = op(e, n, "Mul", normalize(e, n, x, axes, n.attrFloat("epsilon", 1e-5), false), e.get(n.input(1)));
        return n.hasInput(2) ? op(e, n, "Add", y, e.get(n.input(2))) : y;
    }

    static Value rmsNorm(Node n, Emitter e) {
        Value x = e.get(n.input(0));
        if (!staticFloat(x)) return null;
        int r = x.shape().rank();
        long[] axes = range(Shapes.axis(n.attrInt("axis", -1), r), r);
        return op(e, n, "Mul", normalize(e, n, x, axes, n.attrFloat("epsilon", 1e-5), true), e.get(n.input(1)));
    }

    static Value instanceNorm(Node n, Emitter e) {
        Value x = e.get(n.input(0));
        if (!staticFloat(x) || x.shape().rank() < 3) return null;
        int r = x.shape().rank();
        Value y = normalize(e, n, x, range(2, r), n.attrFloat("epsilon", 1e-5), false);
        y = op(e, n, "Mul", y, perChannel(e, n, e.get(n.input(1)), r));
        return op(e, n, "Add", y, perChannel(e, n, e.get(n.input(2)), r));
    }

    static Value groupNorm(Node n, Emitter e) {
        Value x = e.get(n.input(0));
        long g = n.attrInt("num_groups", 0);
        if (!staticFloat(x) || x.shape().rank() < 2 || g <= 0 || e.get(n.input(1)).shape().rank() != 1) return null;
        long[] s = x.shape().sizes();
        if (s[1] % g != 0 || e.get(n.input(1)).shape().numel() != s[1]) return null;
        int r = s.length;
        Value rows = reshape(e, n, x, s[0], g, x.shape().numel() / Math.max(1, s[0] * g));
        Value y = reshape(e, n, normalize(e, n, rows, new long[] {2}, n.attrFloat("epsilon", 1e-5), false), s);
        y = op(e, n, "Mul", y, perChannel(e, n, e.get(n.input(1)), r));
        return op(e, n, "Add", y, perChannel(e, n, e.get(n.input(2)), r));
    }

    /** Inference batch norm: (x - mean)·(scale / sqrt(var + eps)) + B per channel (fold-constants folds the factor). */
    static Value batchNorm(Node n, Emitter e) {
        Value x = e.get(n.input(0));
        if (!staticFloat(x) || x.shape().rank() < 2 || n.attrInt("training_mode", 0) != 0 || !onlyFirstOutput(n)) return null;
        int r = x.shape().rank();
        Value var = e.get(n.input(4));
        Value s = op(e, n, "Div", e.get(n.input(1)), op(e, n, "Sqrt", op(e, n, "Add", var, e.scalar(var.dtype(), n.attrFloat("epsilon", 1e-5)))));
        Value y = op(e, n, "Mul", op(e, n, "Sub", x, perChannel(e, n, e.get(n.input(3)), r)), perChannel(e, n, s, r));
        return op(e, n, "Add", y, perChannel(e, n, e.get(n.input(2)), r));
    }

    static Value reduceMean(Node n, Emitter e) { return reduceVia(n, e, "mean"); }
    static Value reduceL1(Node n, Emitter e) { return reduceVia(n, e, "l1"); }
    static Value reduceL2(Node n, Emitter e) { return reduceVia(n, e, "l2"); }
    static Value reduceLogSum(Node n, Emitter e) { return reduceVia(n, e, "logsum"); }
    static Value reduceLogSumExp(Node n, Emitter e) { return reduceVia(n, e, "logsumexp"); }
    static Value reduceSumSquare(Node n, Emitter e) { return reduceVia(n, e, "sumsquare"); }

    private static Value reduceVia(Node n, Emitter e, String kind) {
        Value x = e.get(n.input(0));
        if (!staticFloat(x)) return null;
        long[] axes = reduceAxes(n, e, x);
        if (axes == null) return null;
        if (axes.length == 0) return x; // noop_with_empty_axes: the input passes through
        boolean keep = n.attrInt("keepdims", 1) != 0;
        return switch (kind) {
            case "mean" -> op(e, n, "Div", reduce(e, n, "ReduceSum", x, axes, keep), e.scalar(x.dtype(), count(x, axes)));
            case "l1" -> reduce(e, n, "ReduceSum", op(e, n, "Abs", x), axes, keep);
            case "l2" -> op(e, n, "Sqrt", reduce(e, n, "ReduceSum", op(e, n, "Mul", x, x), axes, keep));
            case "logsum" -> op(e, n, "Log", reduce(e, n, "ReduceSum", x, axes, keep));
            case "sumsquare" -> reduce(e, n, "ReduceSum", op(e, n, "Mul", x, x), axes, keep);
            default -> { // log(sum(exp(x - m))) + m, m the max, so exp never overflows
                Value m = reduce(e, n, "ReduceMax", x, axes, true);
                Value s = reduce(e, n, "ReduceSum", op(e, n, "Exp", op(e, n, "Sub", x, m)), axes, keep);
                yield op(e, n, "Add", op(e, n, "Log", s), keep ? m : reshape(e, n, m, n.output(0).shape().sizes()));
            }
        };
    }

    static Value globalAveragePool(Node n, Emitter e) {
        Value x = e.get(n.input(0));
        if (!staticFloat(x) || x.shape().rank() < 3) return null;
        long[] axes = range(2, x.shape().rank());
        return op(e, n, "Div", reduce(e, n, "ReduceSum", x, axes, true), e.scalar(x.dtype(), count(x, axes)));
    }

    static Value globalMaxPool(Node n, Emitter e) {
        Value x = e.get(n.input(0));
        if (!x.shape().isStatic() || x.shape().rank() < 3) return null;
        return reduce(e, n, "ReduceMax", x, range(2, x.shape().rank()), true);
    }

    /** Flatten, Squeeze, Unsqueeze: a Reshape to the (static) output shape. */
    static Value toReshape(Node n, Emitter e) {
        if (!n.output(0).shape().isStatic()) return null;
        return reshape(e, n, e.get(n.input(0)), n.output(0).shape().sizes());
    }

    /** Variadic Sum/Min/Max as a left-to-right chain of binary ops; Mean as the Sum chain over the count. */
    static Value variadic(Node n, Emitter e) {
        int k = n.inputs().size();
        boolean mean = n.op().equals("Mean");
        if (k == 2 && !mean && !n.op().equals("Sum")) return null; // binary Min/Max are primitives
        if (mean && !n.output(0).dtype().isFloat()) return null;
        String bin = n.op().equals("Sum") || mean ? "Add" : n.op();
        Value acc = e.get(n.input(0));
        for (int i = 1; i < k; i++) acc = op(e, n, bin, acc, e.get(n.input(i)));
        return mean && k > 1 ? op(e, n, "Div", acc, e.scalar(acc.dtype(), k)) : acc;
    }

    /** Inference Dropout (training_mode absent or constant false, no mask used) is the identity. */
    static Value dropout(Node n, Emitter e) {
        if (!onlyFirstOutput(n)) return null;
        if (n.hasInput(2)) {
            Tensor t = e.constant(e.get(n.input(2)));
            if (t == null || t.getBool(0)) return null;
        }
        return e.get(n.input(0));
    }

    static Value castLike(Node n, Emitter e) {
        Map<String, Attr> a = new HashMap<>(n.attrs().castToSortedMap());
        a.put("to", Attr.of(e.get(n.input(1)).dtype().onnxCode()));
        return e.op("Cast", a, n.origin(), e.get(n.input(0)));
    }

    static Value identity(Node n, Emitter e) { return e.get(n.input(0)); }
}
