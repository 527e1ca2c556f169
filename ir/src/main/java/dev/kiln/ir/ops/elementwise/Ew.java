package dev.kiln.ir.ops.elementwise;

import dev.kiln.ir.DType;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.op.EvalContext;
import dev.kiln.ir.op.InferContext;
import dev.kiln.ir.op.Shapes;

import java.util.ArrayList;
import java.util.List;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;
import java.util.function.IntUnaryOperator;

/**
 * The loops every elementwise reference op shares: numpy broadcasting over concrete tensors, evaluation in
 * double (rounded once into the output dtype) or exactly in long, and the matching shape rules.
 */
public final class Ew {
    private Ew() {}

    /** An exact integer op on longs; {@code u64} says the operands are unsigned 64-bit bit patterns. */
    @FunctionalInterface
    public interface IntBinary { long apply(long a, long b, boolean u64); }

    /** A comparison of two longs (signed, or unsigned when {@code u64}). */
    @FunctionalInterface
    public interface IntPredicate2 { boolean test(long a, long b, boolean u64); }

    @FunctionalInterface
    public interface DoublePredicate2 { boolean test(double a, double b); }

    // ---- shape rules ----

    /** Output: the type of input 0 (unary ops). */
    public static List<TensorType> same(InferContext c) { return List.of(c.inputType(0)); }

    /** The broadcast shape of the given inputs (omitted ones skipped). */
    public static Shape broadcastShape(InferContext c, int... inputs) {
        List<Shape> shapes = new ArrayList<>();
        for (int i : inputs) if (c.hasInput(i)) shapes.add(c.inputType(i).shape());
        try {
            return Shapes.broadcast(shapes.toArray(Shape[]::new));
        } catch (dev.kiln.ir.ShapeException e) {
            throw c.error(e.detail());
        }
    }

    /** Every given input among {@code inputs} has the dtype of input {@code ref}; returns that dtype. */
    public static DType sameDType(InferContext c, int ref, int... inputs) {
        DType t = c.inputType(ref).dtype();
        for (int i : inputs)
            if (c.hasInput(i) && c.inputType(i).dtype() != t)
                throw c.error("input " + i + " is " + c.inputType(i).dtype() + " but input " + ref + " is " + t);
        return t;
    }

    /** Inputs 0..n-1 all of one dtype, broadcast; output of dtype {@code out} (null: the input dtype). */
    public static List<TensorType> broadcastAll(InferContext c, DType out) {
        int[] all = java.util.stream.IntStream.range(0, c.numInputs()).toArray();
        DType t = sameDType(c, 0, all);
        return List.of(new TensorType(out == null ? t : out, broadcastShape(c, all)));
    }

    public static void requireFloat(InferContext c, DType t) {
        if (!t.isFloat()) throw c.error(c.node().op() + " needs a floating-point input, got " + t);
    }

    public static void requireNumeric(InferContext c, DType t) {
        if (!t.isFloat() && !t.isInteger()) throw c.error(c.node().op() + " needs a numeric input, got " + t);
    }

    // ---- evaluation ----

    /** Unary op on a float or integer tensor: computed in double, rounded once into {@code out}. */
    public static Tensor mapDouble(Tensor x, DType out, DoubleUnaryOperator f) {
        double[] r = new double[x.numel()];
        for (int i = 0; i < r.length; i++) r[i] = f.applyAsDouble(x.getDouble(i));
        return Tensor.ofDoubles(out, x.shape(), r);
    }

    /** Unary op on integers, exact; the result wraps to {@code out}'s width. */
    public static Tensor mapLong(Tensor x, DType out, java.util.function.LongUnaryOperator f) {
        long[] r = new long[x.numel()];
        for (int i = 0; i < r.length; i++) r[i] = f.applyAsLong(x.getLong(i));
        return Tensor.ofLongs(out, x.shape(), r);
    }

    /** Broadcast binary op: floats in double (one rounding), integers exactly. */
    public static Tensor binary(EvalContext c, Tensor a, Tensor b, DType out, DoubleBinaryOperator fd, IntBinary fi) {
        long[] shape = broadcast(c, a.shape(), b.shape());
        int[] ia = Shapes.broadcastIndex(a.shape(), shape), ib = Shapes.broadcastIndex(b.shape(), shape);
        int n = ia.length;
        if (a.dtype().isFloat() || fi == null) {
            double[] r = new double[n];
            for (int k = 0; k < n; k++) r[k] = fd.applyAsDouble(a.getDouble(ia[k]), b.getDouble(ib[k]));
            return Tensor.ofDoubles(out, shape, r);
        }
        boolean u64 = a.dtype() == DType.U64;
        long[] r = new long[n];
        try {
            for (int k = 0; k < n; k++) r[k] = fi.apply(a.getLong(ia[k]), b.getLong(ib[k]), u64);
        } catch (ArithmeticException e) {
            throw c.error("integer " + e.getMessage());
        }
        return Tensor.ofLongs(out, shape, r);
    }

    /** Broadcast comparison giving bool: floats as doubles (NaN compares false), integers exactly. */
    public static Tensor compare(EvalContext c, Tensor a, Tensor b, DoublePredicate2 fd, IntPredicate2 fi) {
        long[] shape = broadcast(c, a.shape(), b.shape());
        int[] ia = Shapes.broadcastIndex(a.shape(), shape), ib = Shapes.broadcastIndex(b.shape(), shape);
        boolean[] r = new boolean[ia.length];
        boolean flt = a.dtype().isFloat(), u64 = a.dtype() == DType.U64;
        for (int k = 0; k < r.length; k++)
            r[k] = flt ? fd.test(a.getDouble(ia[k]), b.getDouble(ib[k])) : fi.test(a.getLong(ia[k]), b.getLong(ib[k]), u64);
        return Tensor.ofBools(shape, r);
    }

    /**
     * Variadic broadcasting fold (Min, Max, Sum, Mean): floats accumulate in double and round once;
     * integers fold exactly. {@code divideByCount} turns a sum into a mean.
     */
    public static Tensor fold(EvalContext c, DoubleBinaryOperator fd, IntBinary fi, boolean divideByCount) {
        int m = c.numInputs();
        long[][] shapes = new long[m][];
        for (int i = 0; i < m; i++) shapes[i] = c.input(i).shape();
        long[] shape = broadcast(c, shapes);
        Tensor first = c.input(0);
        DType t = first.dtype();
        int[] idx = Shapes.broadcastIndex(first.shape(), shape);
        if (t.isFloat() || fi == null) {
            double[] acc = new double[idx.length];
            for (int k = 0; k < acc.length; k++) acc[k] = first.getDouble(idx[k]);
            for (int i = 1; i < m; i++) {
                Tensor x = c.input(i);
                int[] ix = Shapes.broadcastIndex(x.shape(), shape);
                for (int k = 0; k < acc.length; k++) acc[k] = fd.applyAsDouble(acc[k], x.getDouble(ix[k]));
            }
            if (divideByCount) for (int k = 0; k < acc.length; k++) acc[k] /= m;
            return Tensor.ofDoubles(t, shape, acc);
        }
        boolean u64 = t == DType.U64;
        long[] acc = new long[idx.length];
        for (int k = 0; k < acc.length; k++) acc[k] = first.getLong(idx[k]);
        for (int i = 1; i < m; i++) {
            Tensor x = c.input(i);
            int[] ix = Shapes.broadcastIndex(x.shape(), shape);
            for (int k = 0; k < acc.length; k++) acc[k] = fi.apply(acc[k], x.getLong(ix[k]), u64);
        }
        if (divideByCount) for (int k = 0; k < acc.length; k++) acc[k] = u64 ? Long.divideUnsigned(acc[k], m) : acc[k] / m;
        return Tensor.ofLongs(t, shape, acc);
    }

    public static long[] broadcast(EvalContext c, long[]... shapes) {
        try {
            return Shapes.broadcast(shapes);
        } catch (dev.kiln.ir.ShapeException e) {
            throw c.error(e.detail());
        }
    }

    /**
     * A tensor of dtype {@code t} and {@code shape} whose element k is element {@code index(k)} of
     * {@code sources[pick(k)]}: a bit-exact copy for every dtype, strings included (Where, Dropout).
     */
    public static Tensor gather(DType t, long[] shape, Tensor[] sources, IntUnaryOperator pick, IntUnaryOperator index) {
        int n = (int) Tensor.numel(shape);
        if (t.isString()) {
            String[][] src = new String[sources.length][];
            for (int s = 0; s < sources.length; s++) src[s] = sources[s].toStrings();
            String[] r = new String[n];
            for (int k = 0; k < n; k++) r[k] = src[pick.applyAsInt(k)][index.applyAsInt(k)];
            return Tensor.ofStrings(shape, r);
        }
        int w = t.storageBytes();
        byte[][] src = new byte[sources.length][];
        for (int s = 0; s < sources.length; s++) src[s] = sources[s].storage();
        byte[] r = new byte[n * w];
        for (int k = 0; k < n; k++) System.arraycopy(src[pick.applyAsInt(k)], index.applyAsInt(k) * w, r, k * w, w);
        return Tensor.ofBytes(t, shape, r);
    }

    /** Numeric order of two integers of one dtype (unsigned when {@code u64}). */
    public static int cmp(long a, long b, boolean u64) { return u64 ? Long.compareUnsigned(a, b) : Long.compare(a, b); }
}
