package dev.kiln.ir.ops.reduction;

import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.op.EvalContext;
import dev.kiln.ir.op.InferContext;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.Shapes;
import dev.kiln.ir.op.Trait;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Ops that work along one axis and keep element order meaningful: ArgMax/ArgMin (attributes axis,
 * keepdims, select_last_index; int64 output), CumSum (axis as input 1; exclusive, reverse) and TopK
 * (k as input 1; axis, largest, sorted). Ordering follows numpy: NaN above every number, integers in their
 * own signedness; ties go to the lower index (TopK, ArgMax) or the higher one (select_last_index).
 */
public final class AxisOps {
    private AxisOps() {}

    public static OpDef.Builder arg(String name, int sign) {
        return OpDef.op(name).traits(Trait.REDUCTION).inputs(1).outputs(1)
                .infer(c -> {
                    Shape s = Kernels.requireNumeric(c, 0, true).shape();
                    if (!s.ranked()) return List.of(new TensorType(DType.I64, Shape.UNRANKED));
                    boolean[] m = new boolean[s.rank()];
                    m[axis(c, c.node().attrInt("axis", 0), s.rank())] = true;
                    return List.of(new TensorType(DType.I64, Kernels.reduceShape(s, m, c.node().attrInt("keepdims", 1) != 0)));
                })
                .eval(c -> List.of(argEval(c, sign)));
    }

    private static Tensor argEval(EvalContext c, int sign) {
        Tensor x = c.input(0);
        int axis = Shapes.axis(c.node().attrInt("axis", 0), x.rank());
        boolean last = c.node().attrInt("select_last_index", 0) != 0;
        if (x.dim(axis) == 0) throw c.error("cannot take " + c.node().op() + " over an empty axis " + axis);
        Kernels.Split sp = Kernels.Split.at(x.shape(), axis);
        long[] out = new long[sp.outer() * sp.inner()];
        for (int o = 0; o < sp.outer(); o++)
            for (int i = 0; i < sp.inner(); i++) {
                int best = 0;
                for (int k = 1; k < sp.n(); k++) {
                    int cmp = argCompare(x, sp.index(o, k, i), sp.index(o, best, i), sign);
                    if (cmp > 0 || cmp == 0 && last) best = k;
                }
                out[o * sp.inner() + i] = best;
            }
        boolean[] m = new boolean[x.rank()];
        m[axis] = true;
        boolean keep = c.node().attrInt("keepdims", 1) != 0;
        return Tensor.ofLongs(DType.I64, keep ? Kernels.keepShape(x.shape(), m) : Kernels.dropShape(x.shape(), m), out);
    }

    /** Numpy's argmax/argmin: the first NaN wins in both directions, else the sign-ed order. */
    private static int argCompare(Tensor x, int a, int b, int sign) {
        if (x.dtype().isFloat()) {
            boolean na = Double.isNaN(x.getDouble(a)), nb = Double.isNaN(x.getDouble(b));
            if (na || nb) return na == nb ? 0 : na ? 1 : -1;
        }
        return sign * Kernels.compare(x, a, b);
    }

    public static OpDef.Builder cumSum() {
        return OpDef.op("CumSum").inputs(2).outputs(1)
                .infer(c -> {
                    TensorType x = Kernels.requireNumeric(c, 0, false);
                    TensorType a = c.inputType(1);
                    if (a.dtype() != DType.I32 && a.dtype() != DType.I64) throw c.error("axis must be int32 or int64, not " + a.dtype());
                    Tensor k = c.constantInput(1);
                    if (k != null && k.numel() != 1) throw c.error("axis must hold one value, holds " + k.numel());
                    if (k != null && x.shape().ranked()) axis(c, k.getLong(0), x.rank());
                    return List.of(x);
                })
                .eval(c -> List.of(cumSumEval(c)));
    }

    private static Tensor cumSumEval(EvalContext c) {
        Tensor x = c.input(0), a = c.input(1);
        if (a.numel() != 1) throw c.error("axis must hold one value, holds " + a.numel());
        boolean exclusive = c.node().attrInt("exclusive", 0) != 0, reverse = c.node().attrInt("reverse", 0) != 0;
        Kernels.Split sp = Kernels.Split.at(x.shape(), Shapes.axis(a.getLong(0), x.rank()));
        boolean isFloat = x.dtype().isFloat();
        double[] d = new double[x.numel()];
        long[] l = new long[x.numel()];
        for (int o = 0; o < sp.outer(); o++)
            for (int i = 0; i < sp.inner(); i++) {
                double ds = 0;
                long ls = 0;
                for (int step = 0; step < sp.n(); step++) {
                    int at = sp.index(o, reverse ? sp.n() - 1 - step : step, i);
                    if (exclusive) { d[at] = ds; l[at] = ls; }
                    if (isFloat) ds += x.getDouble(at); else ls += x.getLong(at);
                    if (!exclusive) { d[at] = ds; l[at] = ls; }
                }
            }
        return isFloat ? Tensor.ofDoubles(x.dtype(), x.shape(), d) : Tensor.ofLongs(x.dtype(), x.shape(), l);
    }

    public static OpDef.Builder topK() {
        return OpDef.op("TopK").inputs(2).outputs(2)
                .infer(c -> {
                    TensorType x = Kernels.requireNumeric(c, 0, false);
                    if (c.inputType(1).dtype() != DType.I64) throw c.error("k must be int64, not " + c.inputType(1).dtype());
                    Shape s = x.shape();
                    if (!s.ranked()) return List.of(x, new TensorType(DType.I64, Shape.UNRANKED));
                    int axis = axis(c, c.node().attrInt("axis", -1), s.rank());
                    Tensor k = c.constantInput(1);
                    Dim kd = Dim.UNKNOWN;
                    if (k != null) {
                        long kv = k(c, k);
                        if (s.dim(axis).isStatic() && kv > s.dim(axis).size())
                            throw c.error("k = " + kv + " is larger than axis " + axis + " of size " + s.dim(axis));
                        kd = Dim.of(kv);
                    }
                    List<Dim> dims = new ArrayList<>(s.dims().castToList());
                    dims.set(axis, kd);
                    Shape out = Shape.of(dims);
                    return List.of(x.withShape(out), new TensorType(DType.I64, out));
                })
                .eval(AxisOps::topKEval);
    }

    private static long k(InferContext c, Tensor k) {
        if (k.numel() != 1) throw c.error("k must hold one value, holds " + k.numel());
        if (k.getLong(0) < 0) throw c.error("k must not be negative, is " + k.getLong(0));
        return k.getLong(0);
    }

    private static List<Tensor> topKEval(EvalContext c) {
        Tensor x = c.input(0), kt = c.input(1);
        if (kt.numel() != 1) throw c.error("k must hold one value, holds " + kt.numel());
        long k = kt.getLong(0);
        int axis = Shapes.axis(c.node().attrInt("axis", -1), x.rank());
        if (k < 0 || k > x.dim(axis)) throw c.error("k = " + k + " is out of range for axis " + axis + " of size " + x.dim(axis));
        boolean largest = c.node().attrInt("largest", 1) != 0;
        Kernels.Split sp = Kernels.Split.at(x.shape(), axis);
        long[] outShape = x.shape();
        outShape[axis] = k;
        int kk = (int) k;
        int[] src = new int[sp.outer() * kk * sp.inner()];
        long[] idx = new long[src.length];
        Integer[] order = new Integer[sp.n()];
        for (int o = 0; o < sp.outer(); o++)
            for (int i = 0; i < sp.inner(); i++) {
                final int oo = o, ii = i;
                for (int j = 0; j < order.length; j++) order[j] = j;
                Comparator<Integer> cmp = (p, q) -> Kernels.compare(x, sp.index(oo, p, ii), sp.index(oo, q, ii));
                Arrays.sort(order, largest ? cmp.reversed() : cmp);   // stable: ties keep the lower index first
                for (int j = 0; j < kk; j++) {
                    int at = (o * kk + j) * sp.inner() + i;
                    src[at] = sp.index(o, order[j], i);
                    idx[at] = order[j];
                }
            }
        return List.of(gather(x, outShape, src), Tensor.ofLongs(DType.I64, outShape, idx));
    }

    /** A tensor of {@code x}'s dtype whose element j is x[src[j]], copied bit for bit. */
    static Tensor gather(Tensor x, long[] shape, int[] src) {
        byte[] in = x.storage(), out = new byte[src.length * x.dtype().storageBytes()];
        int w = x.dtype().storageBytes();
        for (int j = 0; j < src.length; j++) System.arraycopy(in, src[j] * w, out, j * w, w);
        return Tensor.ofBytes(x.dtype(), shape, out);
    }

    /** A normalized axis, or a shape error naming the node. */
    static int axis(InferContext c, long axis, int rank) {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw c.error("axis " + axis + " is out of range for rank " + rank);
        return (int) a;
    }

    static void requireFlag(dev.kiln.ir.Node n, String attr) {
        long v = n.attrInt(attr, 0);
        if (v != 0 && v != 1) throw n.error(new InvalidModelException("attribute " + attr + " must be 0 or 1, is " + v));
    }
}
