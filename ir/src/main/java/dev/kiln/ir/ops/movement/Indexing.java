package dev.kiln.ir.ops.movement;

import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.Node;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.op.EvalContext;
import dev.kiln.ir.op.InferContext;

import java.util.ArrayList;
import java.util.List;
import java.util.function.ToIntFunction;

/**
 * What every movement op shares. Reference semantics are written as an index map: for each output element
 * (row-major) the linear index of the input element it copies ({@link #map}), then {@link #take} moves the
 * raw storage, so one code path serves every dtype (strings and sub-byte types included) bit for bit.
 */
public final class Indexing {
    private Indexing() {}

    /** A tensor of {@code shape} whose element k is {@code src[idx[k]]}, or {@code fill[0]} where idx[k] < 0. */
    public static Tensor take(Tensor src, long[] shape, int[] idx, Tensor fill) {
        if (src.dtype().isString()) {
            String[] in = src.toStrings(), out = new String[idx.length];
            String f = fill == null ? "" : fill.getString(0);
            for (int k = 0; k < idx.length; k++) out[k] = idx[k] < 0 ? f : in[idx[k]];
            return Tensor.ofStrings(shape, out);
        }
        int w = src.dtype().storageBytes();
        byte[] in = src.storage(), out = new byte[idx.length * w];
        byte[] f = fill == null ? new byte[w] : fill.storage();
        for (int k = 0; k < idx.length; k++) {
            if (idx[k] < 0) System.arraycopy(f, 0, out, k * w, w);
            else System.arraycopy(in, idx[k] * w, out, k * w, w);
        }
        return Tensor.ofBytes(src.dtype(), shape, out);
    }

    public static Tensor take(Tensor src, long[] shape, int[] idx) { return take(src, shape, idx, null); }

    /** Applies {@code f} to every multi-index of {@code shape} in row-major order (the array is reused). */
    public static int[] map(long[] shape, ToIntFunction<int[]> f) {
        int n = (int) Tensor.numel(shape);
        int[] idx = new int[n];
        int[] c = new int[shape.length];
        for (int k = 0; k < n; k++) {
            idx[k] = f.applyAsInt(c);
            for (int a = shape.length - 1; a >= 0; a--) {
                if (++c[a] < shape[a]) break;
                c[a] = 0;
            }
        }
        return idx;
    }

    /** The linear index of multi-index {@code c} under {@code strides}. */
    public static int linear(int[] c, long[] strides) {
        long p = 0;
        for (int i = 0; i < c.length; i++) p += c[i] * strides[i];
        return (int) p;
    }

    // ---- constant inputs in shape rules ----

    /** The integer values of constant input i, or null when it is omitted or not a constant. */
    public static long[] constLongs(InferContext c, int i) {
        Tensor t = c.constantInput(i);
        return t == null ? null : t.toLongs();
    }

    /** Input i's values as longs, or null when omitted (eval side). */
    public static long[] longs(EvalContext c, int i) {
        return c.hasInput(i) ? c.input(i).toLongs() : null;
    }

    /** The length of a 1-D input whose length is static, else -1. */
    public static int staticLength(InferContext c, int i) {
        Shape s = c.inputType(i).shape();
        return s.ranked() && s.rank() == 1 && s.dim(0).isStatic() ? (int) s.dim(0).size() : -1;
    }

    public static void requireIndexType(InferContext c, int i, String what) {
        DType t = c.inputType(i).dtype();
        if (t != DType.I64 && t != DType.I32) throw c.error(what + " must be int32 or int64, not " + t);
    }

    public static void requireSameDType(InferContext c, int i, int j) {
        if (c.inputType(i).dtype() != c.inputType(j).dtype())
            throw c.error("inputs " + i + " and " + j + " must have one dtype, got " + c.inputType(i).dtype()
                    + " and " + c.inputType(j).dtype());
    }

    public static List<TensorType> one(DType t, Shape s) { return List.of(new TensorType(t, s)); }

    // ---- symbolic dim arithmetic ----

    public static Dim mul(Dim a, Dim b) {
        if (a.isStatic() && b.isStatic()) return Dim.of(Math.multiplyExact(a.size(), b.size()));
        if (isConst(a, 1) || isConst(b, 0)) return b;
        if (isConst(b, 1) || isConst(a, 0)) return a;
        return Dim.UNKNOWN;
    }

    public static Dim add(Dim a, Dim b) {
        if (a.isStatic() && b.isStatic()) return Dim.of(a.size() + b.size());
        if (isConst(a, 0)) return b;
        if (isConst(b, 0)) return a;
        return Dim.UNKNOWN;
    }

    public static boolean isConst(Dim d, long v) { return d.isStatic() && d.size() == v; }

    /** Two dims that must be equal: the static one wins, then a named one. */
    public static Dim unify(Dim a, Dim b) {
        if (a.isStatic()) return a;
        if (b.isStatic() || a.isUnknown()) return b;
        return a;
    }

    public static Shape dims(List<Dim> d) { return Shape.of(new ArrayList<>(d)); }

    /** Normalizes a list of axes against {@code rank}, rejecting duplicates; a ShapeException via ctx. */
    public static int[] axes(InferContext c, long[] axes, int rank) {
        int[] r = new int[axes.length];
        boolean[] seen = new boolean[rank];
        for (int i = 0; i < axes.length; i++) {
            if (axes[i] < -rank || axes[i] >= rank) throw c.error("axis " + axes[i] + " is out of range for rank " + rank);
            r[i] = (int) (axes[i] < 0 ? axes[i] + rank : axes[i]);
            if (seen[r[i]]) throw c.error("axis " + axes[i] + " is repeated in " + java.util.Arrays.toString(axes));
            seen[r[i]] = true;
        }
        return r;
    }

    /** Axis normalization for eval (EvaluationException). */
    public static int axis(EvalContext c, long axis, int rank) {
        if (axis < -rank || axis >= rank) throw c.error("axis " + axis + " is out of range for rank " + rank);
        return (int) (axis < 0 ? axis + rank : axis);
    }

    public static int axis(InferContext c, long axis, int rank) {
        if (axis < -rank || axis >= rank) throw c.error("axis " + axis + " is out of range for rank " + rank);
        return (int) (axis < 0 ? axis + rank : axis);
    }

    /** An attribute check: the string attribute is one of {@code allowed}. */
    public static void oneOf(Node n, String attr, String dflt, String... allowed) {
        String v = n.attrString(attr, dflt);
        for (String a : allowed) if (a.equals(v)) return;
        throw n.error(new InvalidModelException("attribute " + attr + "='" + v + "' is not one of " + String.join(", ", allowed)));
    }

    public static InvalidModelException bad(Node n, String msg) { return n.error(new InvalidModelException(msg)); }
}
