package dev.kiln.ir.ops.reduction;

import dev.kiln.ir.DType;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.op.EvalContext;
import dev.kiln.ir.op.InferContext;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.Trait;

import java.util.List;
import java.util.function.DoubleBinaryOperator;
import java.util.function.ToLongFunction;

/**
 * The ReduceX ops (opset 18 signature): optional input 1 {@code axes} (int64), attributes {@code keepdims}
 * (default 1) and {@code noop_with_empty_axes} (default 0). Empty axes reduce every axis unless
 * noop_with_empty_axes is set, in which case the input passes through. Each op is one {@link Row}: a fold in
 * double for floats, and for integers either an exact fold in long (wrapping like numpy) or, where the
 * result is not an integer function (L2, LogSum, LogSumExp), the double fold truncated into the type.
 * Reducing an empty set gives the fold's identity (0, 1, -inf, +inf; integer min/max; false/true for bool).
 */
public final class Reductions {
    private Reductions() {}

    /** Finishes a fold: {@code acc} after {@code n} elements. */
    interface Finish { double apply(double acc, long n); }
    interface IntStep { long apply(long acc, long x, boolean unsigned); }
    interface IntFinish { long apply(long acc, long n, boolean unsigned); }

    /** One reduction: the double fold, and the exact integer fold (null: use the double one). */
    public record Row(String name, boolean boolOk, double init, DoubleBinaryOperator step, Finish finish,
               ToLongFunction<DType> intInit, IntStep intStep, IntFinish intFinish) {}

    private static Row row(String name, double init, DoubleBinaryOperator step, Finish finish) {
        return new Row(name, false, init, step, finish, null, null, null);
    }

    private static Row exact(Row r, ToLongFunction<DType> init, IntStep step, IntFinish finish) {
        return new Row(r.name, r.boolOk, r.init, r.step, r.finish, init, step, finish);
    }

    private static Row withBool(Row r) {
        return new Row(r.name, true, r.init, r.step, r.finish, r.intInit, r.intStep, r.intFinish);
    }

    private static final IntFinish SAME = (a, n, u) -> a;

    public static final List<Row> ROWS = List.of(
            exact(row("ReduceSum", 0, Double::sum, (a, n) -> a), t -> 0, (a, x, u) -> a + x, SAME),
            exact(row("ReduceMean", 0, Double::sum, (a, n) -> a / n), t -> 0, (a, x, u) -> a + x,
                    (a, n, u) -> n == 0 ? 0 : u ? Long.divideUnsigned(a, n) : a / n),       // ints: numpy mean, truncated
            withBool(exact(row("ReduceMax", Double.NEGATIVE_INFINITY, Math::max, (a, n) -> a), Kernels::minOf,
                    (a, x, u) -> (u ? Long.compareUnsigned(x, a) : Long.compare(x, a)) > 0 ? x : a, SAME)),
            withBool(exact(row("ReduceMin", Double.POSITIVE_INFINITY, Math::min, (a, n) -> a), Kernels::maxOf,
                    (a, x, u) -> (u ? Long.compareUnsigned(x, a) : Long.compare(x, a)) < 0 ? x : a, SAME)),
            exact(row("ReduceProd", 1, (a, x) -> a * x, (a, n) -> a), t -> 1, (a, x, u) -> a * x, SAME),
            exact(row("ReduceL1", 0, (a, x) -> a + Math.abs(x), (a, n) -> a), t -> 0,
                    (a, x, u) -> a + (u ? x : Math.abs(x)), SAME),
            row("ReduceL2", 0, (a, x) -> a + x * x, (a, n) -> Math.sqrt(a)),
            row("ReduceLogSum", 0, Double::sum, (a, n) -> Math.log(a)),
            row("ReduceLogSumExp", Double.NEGATIVE_INFINITY, Reductions::logAddExp, (a, n) -> a),
            exact(row("ReduceSumSquare", 0, (a, x) -> a + x * x, (a, n) -> a), t -> 0, (a, x, u) -> a + x * x, SAME));

    /** log(e^a + e^x) without overflow; equal arguments (incl. both infinite) give a + log 2. */
    static double logAddExp(double a, double x) {
        if (a == x) return a + Math.log(2);
        double m = Math.max(a, x);
        return m + Math.log1p(Math.exp(-Math.abs(a - x)));
    }

    public static OpDef.Builder def(Row r) {
        return OpDef.op(r.name).traits(Trait.REDUCTION).inputs(1, 2).outputs(1)
                .infer(c -> List.of(new TensorType(Kernels.requireNumeric(c, 0, r.boolOk).dtype(), inferShape(c))))
                .eval(c -> List.of(eval(r, c)));
    }

    /** The output shape of a reduction whose axes come from input 1 (when given). */
    static Shape inferShape(InferContext c) {
        Shape s = c.inputType(0).shape();
        boolean keep = c.node().attrInt("keepdims", 1) != 0;
        boolean noop = c.node().attrInt("noop_with_empty_axes", 0) != 0;
        long[] axes = constantAxes(c);
        if (axes == null) {                                   // axes known only at run time
            if (!s.ranked()) return Shape.UNRANKED;
            if (keep) return Shape.unknown(s.rank());
            Shape as = c.inputType(1).shape();
            if (as.ranked() && as.rank() == 1 && as.dim(0).isStatic()) return Shape.unknown(s.rank() - (int) as.dim(0).size());
            return Shape.UNRANKED;
        }
        if (axes.length == 0) {
            if (noop) return s;
            if (!keep) return Shape.SCALAR;
            return s.ranked() ? Shape.of(ones(s.rank())) : Shape.UNRANKED;
        }
        if (!s.ranked()) return Shape.UNRANKED;
        return Kernels.reduceShape(s, Kernels.mask(axes, s.rank(), c.node()), keep);
    }

    /** The axes when known before running: absent, constant, or an input typed with zero elements. */
    private static long[] constantAxes(InferContext c) {
        if (!c.hasInput(1)) return new long[0];
        TensorType t = c.inputType(1);
        if (t.dtype() != DType.I64) throw c.error("axes must be int64, not " + t.dtype());
        Tensor k = c.constantInput(1);
        if (k != null) {
            if (k.rank() > 1) throw c.error("axes must be a 1-D tensor, not rank " + k.rank());
            return k.toLongs();
        }
        if (t.shape().isStatic() && t.shape().numel() == 0) return new long[0];
        return null;
    }

    private static long[] ones(int rank) {
        long[] o = new long[rank];
        java.util.Arrays.fill(o, 1);
        return o;
    }

    static Tensor eval(Row r, EvalContext c) {
        Tensor x = c.input(0);
        long[] axes = c.hasInput(1) ? c.input(1).toLongs() : new long[0];
        boolean keep = c.node().attrInt("keepdims", 1) != 0;
        if (axes.length == 0 && c.node().attrInt("noop_with_empty_axes", 0) != 0) return x;
        boolean[] reduced = new boolean[x.rank()];
        if (axes.length == 0) java.util.Arrays.fill(reduced, true);
        else reduced = Kernels.mask(axes, x.rank(), c.node());
        int[] g = Kernels.groups(x.shape(), reduced);
        long[] outShape = keep ? Kernels.keepShape(x.shape(), reduced) : Kernels.dropShape(x.shape(), reduced);
        int m = (int) Tensor.numel(outShape);
        long[] count = new long[m];
        for (int k : g) count[k]++;
        DType t = x.dtype();
        if (!t.isFloat() && r.intStep != null) {
            boolean u = Kernels.unsigned(t);
            long[] acc = new long[m];
            java.util.Arrays.fill(acc, r.intInit.applyAsLong(t));
            for (int i = 0; i < g.length; i++) acc[g[i]] = r.intStep.apply(acc[g[i]], x.getLong(i), u);
            for (int k = 0; k < m; k++) acc[k] = r.intFinish.apply(acc[k], count[k], u);
            return Tensor.ofLongs(t, outShape, acc);
        }
        double[] acc = new double[m];
        java.util.Arrays.fill(acc, r.init);
        for (int i = 0; i < g.length; i++) acc[g[i]] = r.step.applyAsDouble(acc[g[i]], x.getDouble(i));
        for (int k = 0; k < m; k++) acc[k] = r.finish.apply(acc[k], count[k]);
        return Tensor.ofDoubles(t, outShape, acc);
    }
}
