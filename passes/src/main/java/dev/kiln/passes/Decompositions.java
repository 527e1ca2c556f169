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

    /**
     * The reduction axes of a ReduceX node (sorted, non-negative), null when unknown. Absent axes and an empty
     * axes input (constant, or a runtime input of static size 0 as in ONNX's default_axes tests) reduce every
     * axis; with noop_with_empty_axes the caller passes the input through (see {@link #noopReduce}).
     */
    private static long[] reduceAxes(Node n, Emitter e, Value x) {
        long[] axes;
        if (n.hasInput(1)) {
            Value a = e.get(n.input(1));
            Tensor t = e.constant(a);
            if (t != null) axes = t.toLongs();
            else if (a.shape().isStatic() && a.shape().numel() == 0) axes = new long[0];
            else return null;
        } else axes = new long[0];
        if (axes.length == 0) return range(0, x.shape().rank());
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
        if (noopReduce(n, e)) return x; // noop_with_empty_axes: the input passes through
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

    /** Empty (or absent) axes with noop_with_empty_axes set: the reduction is the identity. */
    private static boolean noopReduce(Node n, Emitter e) {
        if (n.attrInt("noop_with_empty_axes", 0) == 0) return false;
        if (!n.hasInput(1)) return true;
        Value a = e.get(n.input(1));
        return a.shape().isStatic() && a.shape().numel() == 0;
    }

    /**
     * ReduceSum/Max/Min/Prod whose axes are empty with noop_with_empty_axes: the input; a runtime axes input of
     * static size 0 otherwise: constant all-axes, so codegen sees constant axes. Other forms are already primitive: null.
     */
    static Value reduceEmptyAxes(Node n, Emitter e) {
        if (!n.hasInput(1)) return null;
        Value x = e.get(n.input(0)), a = e.get(n.input(1));
        if (!a.shape().isStatic() || a.shape().numel() != 0 || !x.shape().ranked()) return null;
        if (n.attrInt("noop_with_empty_axes", 0) != 0) return x;
        if (e.constant(a) != null) return null; // constant empty axes: codegen reduces every axis
        return reduce(e, n, n.op(), x, range(0, x.shape().rank()), n.attrInt("keepdims", 1) != 0);
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

    // ---- quantization ----

    private static Value cast(Emitter e, Node n, Value x, DType to) {
        return x.dtype() == to ? x : e.op("Cast", Map.of("to", Attr.of(to.onnxCode())), n.origin(), x);
    }

    /**
     * A quantization parameter (scale or zero point) shaped to broadcast against x: per-tensor as is, per-axis
     * (1-D, the size of x's axis) as [C,1,...,1]; null for other (blocked) shapes.
     */
    private static Value quantParam(Emitter e, Node n, Value p, Value x) {
        if (p.shape().numel() == 1) return p;
        int r = x.shape().rank();
        if (p.shape().rank() != 1 || r == 0) return null;
        long a = n.attrInt("axis", 1);
        if (a < -r || a >= r) return null;
        int axis = (int) (a < 0 ? a + r : a);
        if (p.shape().dim(0).size() != x.shape().dim(axis).size()) return null;
        long[] s = new long[r - axis];
        java.util.Arrays.fill(s, 1);
        s[0] = p.shape().numel();
        return s.length == 1 ? p : reshape(e, n, p, s);
    }

    private static boolean smallInt(DType t) {
        return t == DType.U8 || t == DType.I8 || t == DType.U16 || t == DType.I16 || t == DType.I32;
    }

    /** (Cast(x, f32) - Cast(zp, f32)) · scale, cast to the output dtype; per-tensor and per-axis, 8/16/32-bit x. */
    static Value dequantizeLinear(Node n, Emitter e) {
        Value x = e.get(n.input(0)), scale = e.get(n.input(1)), zp = n.hasInput(2) ? e.get(n.input(2)) : null;
        DType out = n.output(0).dtype();
        if (n.attrInt("block_size", 0) != 0 || !smallInt(x.dtype()) || !x.shape().isStatic() || !scale.shape().isStatic()
                || out != DType.F32 && out != DType.F16 && out != DType.BF16) return null;
        if (zp != null && (!zp.shape().isStatic() || zp.shape().numel() != scale.shape().numel())) return null;
        Value s = quantParam(e, n, scale, x), z = zp == null ? null : quantParam(e, n, zp, x);
        if (s == null || zp != null && z == null) return null;
        Value v = cast(e, n, x, DType.F32);
        if (z != null) v = op(e, n, "Sub", v, cast(e, n, z, DType.F32));
        return cast(e, n, op(e, n, "Mul", v, cast(e, n, s, DType.F32)), out);
    }

    /**
     * Clip(Round(x / scale) + zp, lo, hi) cast to the 8/16-bit integer output: the division in the scale's
     * precision (x of that dtype), rounding half to even, the rest in f32 (exact for these integers).
     */
    static Value quantizeLinear(Node n, Emitter e) {
        Value x = e.get(n.input(0)), scale = e.get(n.input(1)), zp = n.hasInput(2) ? e.get(n.input(2)) : null;
        DType t = n.output(0).dtype();
        long prec = n.attrInt("precision", 0);
        if (n.attrInt("block_size", 0) != 0 || !x.shape().isStatic() || !scale.shape().isStatic()
                || !(t == DType.U8 || t == DType.I8 || t == DType.U16 || t == DType.I16)
                || x.dtype() != scale.dtype() || !x.dtype().isFloat() || x.dtype() == DType.F64
                || prec != 0 && prec != scale.dtype().onnxCode()) return null;
        if (zp != null && (!zp.shape().isStatic() || zp.shape().numel() != scale.shape().numel())) return null;
        Value s = quantParam(e, n, scale, x), z = zp == null ? null : quantParam(e, n, zp, x);
        if (s == null || zp != null && z == null) return null;
        Value v = cast(e, n, op(e, n, "Round", op(e, n, "Div", x, s)), DType.F32);
        if (z != null) v = op(e, n, "Add", v, cast(e, n, z, DType.F32));
        double lo = t.isUnsigned() ? 0 : -Math.scalb(1.0, t.bits() - 1);
        double hi = t.isUnsigned() ? Math.scalb(1.0, t.bits()) - 1 : Math.scalb(1.0, t.bits() - 1) - 1;
        v = op(e, n, "Clip", v, e.scalar(DType.F32, lo), e.scalar(DType.F32, hi));
        return cast(e, n, v, t);
    }

    /**
     * DynamicQuantizeLinear (uint8), all in f32 as ONNX's function body: scale = (max(0, max x) - min(0, min x)) / 255,
     * zp = Round(Clip(-lo / scale, 0, 255)), y = Clip(Round(x / scale) + zp, 0, 255); a zero scale (x all zero)
     * gives zp = 0 and y = zp. Binds all three outputs; false when x is not static float.
     */
    static boolean dynamicQuantizeLinear(Node n, Emitter e) {
        Value x0 = e.get(n.input(0));
        if (!staticFloat(x0) || x0.dtype() == DType.F64 || x0.shape().numel() == 0) return false;
        Value x = cast(e, n, x0, DType.F32);
        long[] all = range(0, x.shape().rank());
        Value zero = e.scalar(DType.F32, 0), top = e.scalar(DType.F32, 255);
        Value hi = op(e, n, "Max", reduce(e, n, "ReduceMax", x, all, false), zero);
        Value lo = op(e, n, "Min", reduce(e, n, "ReduceMin", x, all, false), zero);
        Value scale = op(e, n, "Div", op(e, n, "Sub", hi, lo), top);
        Value isZero = op(e, n, "Equal", scale, zero);
        Value zpRaw = op(e, n, "Round", op(e, n, "Clip", op(e, n, "Sub", zero, op(e, n, "Div", lo, scale)), zero, top));
        Value zp = op(e, n, "Where", isZero, zero, zpRaw);
        Value y = op(e, n, "Clip", op(e, n, "Add", op(e, n, "Round", op(e, n, "Div", x, scale)), zp), zero, top);
        y = op(e, n, "Where", isZero, zp, y);
        Value yq = cast(e, n, y, DType.U8), zq = cast(e, n, zp, DType.U8);
        e.bind(n, 1, scale);
        e.bind(n, 2, zq);
        e.bind(n, 0, yq);
        return true;
    }

    // ---- contraction ----

    /** MatMul with a 1-D operand: Reshape it to [1,K] (left) or [K,1] (right), MatMul, Reshape to the result. */
    static Value matMul(Node n, Emitter e) {
        Value a = e.get(n.input(0)), b = e.get(n.input(1));
        if (!a.shape().isStatic() || !b.shape().isStatic() || !n.output(0).shape().isStatic()) return null;
        if (a.shape().rank() != 1 && b.shape().rank() != 1) return null;
        if (a.shape().rank() == 0 || b.shape().rank() == 0) return null;
        if (a.shape().rank() == 1) a = reshape(e, n, a, 1, a.shape().numel());
        if (b.shape().rank() == 1) b = reshape(e, n, b, b.shape().numel(), 1);
        return reshape(e, n, op(e, n, "MatMul", a, b), n.output(0).shape().sizes());
    }

    // ---- multi-output forms ----

    /**
     * Inference Dropout whose mask is used: the data is x, the mask a constant all-true tensor (a mask that is a
     * graph output is computed from x as Or(IsNaN(x), Not(IsNaN(x))), since outputs cannot be constants on the GPU).
     */
    static boolean dropoutWithMask(Node n, Emitter e) {
        if (n.outputs().size() < 2 || n.output(1).isNone()) return false;
        if (n.hasInput(2)) {
            Tensor t = e.constant(e.get(n.input(2)));
            if (t == null || t.getBool(0)) return false;
        }
        Value m = n.output(1);
        if (!m.shape().isStatic() || m.dtype() != DType.BOOL) return false;
        Value mask;
        if (e.isGraphOutput(m)) { // graph outputs must be computed on the device: IsNaN(x) or not, true everywhere
            Value nan = op(e, n, "IsNaN", e.get(n.input(0)));
            mask = op(e, n, "Or", nan, op(e, n, "Not", nan));
        } else {
            boolean[] ones = new boolean[(int) m.shape().numel()];
            java.util.Arrays.fill(ones, true);
            mask = e.constant(Tensor.ofBools(m.shape().sizes(), ones));
        }
        e.bind(n, 1, mask);
        e.bind(n, 0, e.get(n.input(0)));
        return true;
    }

    /**
     * LayerNormalization whose Mean or InvStdDev output is used: the same decomposition in f32 (stash_type 1),
     * Mean = ReduceSum(x)/n and InvStdDev = Reciprocal(Sqrt(var + eps)) with keepdims (the [d0..d(axis-1),1,...,1]
     * of the shape rule).
     */
    static boolean layerNormWithStats(Node n, Emitter e) {
        Value x = e.get(n.input(0));
        if (onlyFirstOutput(n) || !staticFloat(x) || x.dtype() == DType.F64 || n.attrInt("stash_type", 1) != 1) return false;
        for (int i = 1; i < n.outputs().size(); i++) if (!n.output(i).isNone() && n.output(i).dtype() != DType.F32) return false;
        int r = x.shape().rank();
        long[] axes = range(Shapes.axis(n.attrInt("axis", -1), r), r);
        Value xf = cast(e, n, x, DType.F32);
        Value k = e.scalar(DType.F32, count(x, axes));
        Value mean = op(e, n, "Div", reduce(e, n, "ReduceSum", xf, axes, true), k);
        Value d = op(e, n, "Sub", xf, mean);
        Value var = op(e, n, "Div", reduce(e, n, "ReduceSum", op(e, n, "Mul", d, d), axes, true), k);
        Value sd = op(e, n, "Sqrt", op(e, n, "Add", var, e.scalar(DType.F32, n.attrFloat("epsilon", 1e-5))));
        Value y = cast(e, n, op(e, n, "Div", d, sd), x.dtype());
        y = op(e, n, "Mul", y, e.get(n.input(1)));
        if (n.hasInput(2)) y = op(e, n, "Add", y, e.get(n.input(2)));
        Value inv = n.outputs().size() > 2 && !n.output(2).isNone() ? op(e, n, "Reciprocal", sd) : null;
        e.bind(n, 0, y);
        e.bind(n, 1, mean);
        if (inv != null) e.bind(n, 2, inv);
        return true;
    }

    // ---- Einsum ----

    /**
     * Einsum without repeated labels in a term, over one operand (ReduceSum of the labels not in the output,
     * then Transpose) or two (batch labels in both operands and the output, contracted ones in both operands
     * only, free ones in one: Transpose each to [batch, free, contracted] / [batch, contracted, free], Reshape to
     * 3-D, MatMul, Reshape, Transpose to the output order). Labels in one operand only and not in the output
     * are summed first. "..." becomes labels of its own. Null for other forms (diagonals, broadcast batch dims).
     */
    static Value einsum(Node n, Emitter e) {
        String eq = n.attrString("equation", "").replace(" ", "");
        if (!eq.contains("->")) eq = eq + "->" + implicitOutput(eq);
        int arrow = eq.indexOf("->");
        if (n.inputs().size() > 2 || !n.output(0).shape().isStatic()) return null;
        String[] terms = eq.substring(0, arrow).split(",", -1);
        if (terms.length != n.inputs().size()) return null;
        Value[] in = new Value[terms.length];
        int[][] labels = new int[terms.length][];
        int width = -1;
        for (int i = 0; i < terms.length; i++) {
            in[i] = e.get(n.input(i));
            if (!in[i].shape().isStatic()) return null;
            String t = terms[i];
            int letters = t.replace("...", "").length();
            int ew = t.contains("...") ? in[i].shape().rank() - letters : 0;
            if (ew < 0 || !t.contains("...") && in[i].shape().rank() != letters) return null;
            if (t.contains("...")) { if (width >= 0 && width != ew) return null; width = ew; }
            labels[i] = expand(t, ew);
            if (labels[i] == null || hasRepeats(labels[i])) return null;
        }
        int[] out = expand(eq.substring(arrow + 2), Math.max(width, 0));
        if (out == null || hasRepeats(out)) return null;
        Map<Integer, Long> size = new HashMap<>();
        for (int i = 0; i < in.length; i++)
            for (int a = 0; a < labels[i].length; a++) {
                long d = in[i].shape().dim(a).size();
                Long prev = size.putIfAbsent(labels[i][a], d);
                if (prev != null && prev != d) return null; // broadcast (size-1) labels: not handled
            }
        // sum away the labels of one operand that no other term has
        for (int i = 0; i < in.length; i++) {
            java.util.List<Integer> keep = new java.util.ArrayList<>(), drop = new java.util.ArrayList<>();
            for (int a = 0; a < labels[i].length; a++) {
                int l = labels[i][a];
                boolean elsewhere = contains(out, l) || in.length == 2 && contains(labels[1 - i], l);
                if (elsewhere) keep.add(l); else drop.add(a);
            }
            if (!drop.isEmpty()) {
                in[i] = reduce(e, n, "ReduceSum", in[i], drop.stream().mapToLong(Integer::longValue).toArray(), false);
                labels[i] = keep.stream().mapToInt(Integer::intValue).toArray();
            }
        }
        Value y;
        int[] yl;
        if (in.length == 1) { y = in[0]; yl = labels[0]; }
        else {
            int[] a = labels[0], b = labels[1];
            java.util.List<Integer> batch = new java.util.ArrayList<>(), m = new java.util.ArrayList<>(),
                    k = new java.util.ArrayList<>(), nn = new java.util.ArrayList<>();
            for (int l : a) (contains(b, l) ? (contains(out, l) ? batch : k) : m).add(l);
            for (int l : b) if (!contains(a, l)) nn.add(l);
            long bs = prod(batch, size), ms = prod(m, size), ks = prod(k, size), ns = prod(nn, size);
            Value a3 = reshape(e, n, permute(e, n, in[0], a, concat(batch, m, k)), bs, ms, ks);
            Value b3 = reshape(e, n, permute(e, n, in[1], b, concat(batch, k, nn)), bs, ks, ns);
            yl = concat(batch, m, nn);
            long[] ys = new long[yl.length];
            for (int i = 0; i < yl.length; i++) ys[i] = size.get(yl[i]);
            y = reshape(e, n, op(e, n, "MatMul", a3, b3), ys);
        }
        if (yl.length != out.length) return null; // cannot happen: every kept label is an output label here
        y = permute(e, n, y, yl, out);
        return y.shape().equals(n.output(0).shape()) ? y : reshape(e, n, y, n.output(0).shape().sizes());
    }

    /** The output term of an equation without "->": "..." (if any operand has it), then the letters used once, sorted. */
    private static String implicitOutput(String lhs) {
        int[] count = new int[128];
        for (char c : lhs.replace("...", "").toCharArray()) if (c < 128) count[c]++;
        StringBuilder o = new StringBuilder(lhs.contains("...") ? "..." : "");
        for (int c = 0; c < 128; c++) if (count[c] == 1 && Character.isLetter(c)) o.append((char) c);
        return o.toString();
    }

    /** A term's labels with "..." as labels 0..w-1 (w of them); null for characters other than letters. */
    private static int[] expand(String t, int w) {
        java.util.List<Integer> r = new java.util.ArrayList<>();
        for (int i = 0; i < t.length(); i++) {
            char c = t.charAt(i);
            if (t.startsWith("...", i)) { for (int j = 0; j < w; j++) r.add(j); i += 2; }
            else if (Character.isLetter(c) && c < 128) r.add((int) c);
            else return null;
        }
        return r.stream().mapToInt(Integer::intValue).toArray();
    }

    private static boolean hasRepeats(int[] l) { return java.util.Arrays.stream(l).distinct().count() != l.length; }

    private static boolean contains(int[] l, int x) { for (int v : l) if (v == x) return true; return false; }

    private static long prod(java.util.List<Integer> ls, Map<Integer, Long> size) {
        long p = 1;
        for (int l : ls) p *= size.get(l);
        return p;
    }

    @SafeVarargs
    private static int[] concat(java.util.List<Integer>... parts) {
        return java.util.Arrays.stream(parts).flatMap(java.util.List::stream).mapToInt(Integer::intValue).toArray();
    }

    /** x with labels {@code from} transposed to label order {@code to} (a no-op when already in order). */
    private static Value permute(Emitter e, Node n, Value x, int[] from, int[] to) {
        long[] perm = new long[to.length];
        boolean id = true;
        for (int i = 0; i < to.length; i++) {
            int j = 0;
            while (from[j] != to[i]) j++;
            perm[i] = j;
            id &= j == i;
        }
        return id ? x : e.op("Transpose", Map.of("perm", Attr.ints(perm)), n.origin(), x);
    }

    static Value identity(Node n, Emitter e) { return e.get(n.input(0)); }
}
