package dev.kiln.ir.ops.nn;

import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.Node;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.op.EvalContext;
import dev.kiln.ir.op.InferContext;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.op.Trait;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The pools over X [N, C, D1..Dn]: MaxPool (with optional int64 Indices), AveragePool, LpPool, their global
 * forms, and MaxUnpool. Padding never contributes a value: MaxPool ignores it, AveragePool counts it in the
 * divisor only with count_include_pad=1 (and never the ceil_mode overhang past the end padding), LpPool adds 0.
 */
public final class PoolOps {
    private PoolOps() {}

    enum Kind { MAX, AVG, LP }

    public static void register(OpRegistry.Builder r) {
        r.add(OpDef.op("MaxPool").traits(Trait.REDUCTION).inputs(1).outputs(1, 2)
                .check(n -> flag(n, "storage_order"))
                .infer(c -> pooled(c, DType.I64)).eval(c -> pool(c, Kind.MAX)));
        r.add(OpDef.op("AveragePool").traits(Trait.REDUCTION).inputs(1).outputs(1)
                .check(n -> flag(n, "count_include_pad"))
                .infer(c -> pooled(c, null)).eval(c -> pool(c, Kind.AVG)));
        r.add(OpDef.op("LpPool").traits(Trait.REDUCTION).inputs(1).outputs(1)
                .check(n -> {
                    if (n.attrInt("p", 2) < 1) throw WindowSpec.bad(n, "p must be positive, not " + n.attrInt("p", 2));
                })
                .infer(c -> pooled(c, null)).eval(c -> pool(c, Kind.LP)));
        r.add(OpDef.op("GlobalAveragePool").traits(Trait.REDUCTION).inputs(1).outputs(1)
                .infer(PoolOps::global).eval(c -> globalPool(c, false)));
        r.add(OpDef.op("GlobalMaxPool").traits(Trait.REDUCTION).inputs(1).outputs(1)
                .infer(PoolOps::global).eval(c -> globalPool(c, true)));
        r.add(OpDef.op("MaxUnpool").inputs(2, 3).outputs(1)
                .infer(PoolOps::inferUnpool).eval(PoolOps::unpool));
    }

    static void flag(Node n, String name) {
        long v = n.attrInt(name, 0);
        if (v != 0 && v != 1) throw WindowSpec.bad(n, name + " must be 0 or 1, not " + v);
    }

    private static WindowSpec spec(Node n, int spatial) {
        boolean dilations = !n.op().equals("MaxUnpool");
        return WindowSpec.of(n, spatial, null, dilations, dilations);
    }

    private static int spatialRank(InferContext c, TensorType x) {
        if (x.rank() < 3) throw c.error("input " + x + " needs rank 3 or more (N, C, spatial...)");
        return x.rank() - 2;
    }

    /** [N, C, out...]; a second output of {@code indexType} when given (MaxPool's Indices). */
    static List<TensorType> pooled(InferContext c, DType indexType) {
        TensorType x = c.inputType(0);
        if (x.dtype().isBool() || x.dtype().isString()) throw c.error("pooling needs a numeric input, not " + x.dtype());
        Shape out = Shape.UNRANKED;
        if (x.shape().ranked()) {
            int spatial = spatialRank(c, x);
            WindowSpec s = spec(c.node(), spatial);
            List<Dim> dims = new ArrayList<>(List.of(x.shape().dim(0), x.shape().dim(1)));
            for (int d = 0; d < spatial; d++) dims.add(s.outDim(d, x.shape().dim(d + 2)));
            out = Shape.of(dims);
        }
        TensorType y = x.withShape(out);
        return indexType == null ? List.of(y) : List.of(y, y.withDType(indexType));
    }

    static List<Tensor> pool(EvalContext c, Kind kind) {
        Tensor x = c.input(0);
        long[] xs = x.shape();
        int spatial = xs.length - 2;
        Node node = c.node();
        Window win = spec(node, spatial).window(Arrays.copyOfRange(xs, 2, xs.length));
        int planes = Math.toIntExact(xs[0] * xs[1]), inN = win.inNumel, outN = win.outNumel;
        boolean exactInts = x.dtype().isInteger();
        double[] xv = exactInts ? null : x.toDoubles();
        long[] xl = exactInts ? x.toLongs() : null;
        double[] y = new double[planes * outN];
        long[] yl = exactInts ? new long[planes * outN] : null;
        long[] idx = new long[planes * outN];
        boolean includePad = node.attrInt("count_include_pad", 0) == 1, colMajor = node.attrInt("storage_order", 0) == 1;
        double p = node.attrInt("p", 2);
        int[] inOff = new int[win.kernelNumel], kOff = new int[win.kernelNumel];
        for (int o = 0; o < outN; o++) {
            int taps = win.taps(o, inOff, kOff);
            int divisor = includePad ? win.paddedTaps(o) : taps;
            for (int pl = 0; pl < planes; pl++) {
                int base = pl * inN, at = pl * outN + o;
                switch (kind) {
                    case MAX -> {
                        int best = -1;
                        for (int t = 0; t < taps; t++) {
                            int i = base + inOff[t];
                            if (best < 0 ? exactInts || !Double.isNaN(xv[i])
                                    : exactInts ? xl[i] > xl[best] : xv[i] > xv[best]) best = i;
                        }
                        if (exactInts) yl[at] = best < 0 ? Long.MIN_VALUE : xl[best];
                        else y[at] = best < 0 ? (taps > 0 ? Double.NaN : Double.NEGATIVE_INFINITY) : xv[best];
                        int sp = best - base;
                        idx[at] = best < 0 ? -1 : (long) base + (colMajor ? win.columnMajor(sp) : sp);
                    }
                    case AVG -> {
                        double sum = 0;
                        for (int t = 0; t < taps; t++) sum += xv[base + inOff[t]];
                        y[at] = divisor == 0 ? Double.NaN : sum / divisor;
                    }
                    case LP -> {
                        double sum = 0;
                        for (int t = 0; t < taps; t++) sum += Math.pow(Math.abs(xv[base + inOff[t]]), p);
                        y[at] = Math.pow(sum, 1.0 / p);
                    }
                }
            }
        }
        long[] ys = new long[xs.length];
        ys[0] = xs[0];
        ys[1] = xs[1];
        System.arraycopy(win.out, 0, ys, 2, spatial);
        Tensor out = exactInts ? Tensor.ofLongs(x.dtype(), ys, yl) : Tensor.ofDoubles(x.dtype(), ys, y);
        return kind == Kind.MAX ? List.of(out, Tensor.ofLongs(DType.I64, ys, idx)) : List.of(out);
    }

    private static List<TensorType> global(InferContext c) {
        TensorType x = c.inputType(0);
        if (!x.shape().ranked()) return List.of(x);
        spatialRank(c, x);
        List<Dim> dims = new ArrayList<>(List.of(x.shape().dim(0), x.shape().dim(1)));
        for (int d = 2; d < x.rank(); d++) dims.add(Dim.of(1));
        return List.of(x.withShape(Shape.of(dims)));
    }

    private static List<Tensor> globalPool(EvalContext c, boolean max) {
        Tensor x = c.input(0);
        long[] xs = x.shape();
        int planes = Math.toIntExact(xs[0] * xs[1]), inN = planes == 0 ? 0 : x.numel() / planes;
        boolean exactInts = x.dtype().isInteger();
        double[] y = new double[planes];
        long[] yl = new long[planes];
        for (int pl = 0; pl < planes; pl++) {
            double acc = max ? Double.NEGATIVE_INFINITY : 0;
            long accl = Long.MIN_VALUE;
            for (int i = pl * inN; i < (pl + 1) * inN; i++) {
                if (exactInts) accl = Math.max(accl, x.getLong(i));
                double v = x.getDouble(i);
                acc = max ? (Double.isNaN(v) || Double.isNaN(acc) ? Double.NaN : Math.max(acc, v)) : acc + v;
            }
            y[pl] = max ? acc : acc / inN;
            yl[pl] = accl;
        }
        long[] ys = xs.clone();
        for (int d = 2; d < ys.length; d++) ys[d] = 1;
        return List.of(max && exactInts ? Tensor.ofLongs(x.dtype(), ys, yl) : Tensor.ofDoubles(x.dtype(), ys, y));
    }

    // ---- MaxUnpool ----

    private static List<TensorType> inferUnpool(InferContext c) {
        TensorType x = c.inputType(0), i = c.inputType(1);
        if (i.dtype() != DType.I64) throw c.error("indices must be i64, not " + i.dtype());
        if (c.hasInput(2)) {
            Tensor shape = c.constantInput(2);
            if (shape != null) return List.of(x.withShape(Shape.of(shape.toLongs())));
            TensorType st = c.inputType(2);
            boolean known = st.shape().ranked() && st.rank() == 1 && st.shape().dim(0).isStatic();
            return List.of(x.withShape(known ? Shape.unknown((int) st.shape().dim(0).size()) : Shape.UNRANKED));
        }
        if (!x.shape().ranked()) return List.of(x);
        int spatial = spatialRank(c, x);
        WindowSpec s = spec(c.node(), spatial);
        List<Dim> dims = new ArrayList<>(List.of(x.shape().dim(0), x.shape().dim(1)));
        for (int d = 0; d < spatial; d++) {
            Dim in = x.shape().dim(d + 2);
            dims.add(in.isStatic() ? Dim.of(unpoolSize(s, d, in.size())) : Dim.UNKNOWN);
        }
        return List.of(x.withShape(Shape.of(dims)));
    }

    private static long unpoolSize(WindowSpec s, int d, long in) {
        return (in - 1) * s.strides()[d] + s.kernel()[d] - s.pads()[d] - s.pads()[s.rank() + d];
    }

    private static List<Tensor> unpool(EvalContext c) {
        Tensor x = c.input(0), idx = c.input(1);
        long[] xs = x.shape();
        if (!Arrays.equals(xs, idx.shape()))
            throw c.error("indices " + Arrays.toString(idx.shape()) + " must have the shape of X " + Arrays.toString(xs));
        long[] ys;
        if (c.hasInput(2)) ys = c.input(2).toLongs();
        else {
            WindowSpec s = spec(c.node(), xs.length - 2);
            ys = xs.clone();
            for (int d = 0; d < s.rank(); d++) ys[d + 2] = unpoolSize(s, d, xs[d + 2]);
        }
        double[] y = new double[Math.toIntExact(Tensor.numel(ys))];
        for (int i = 0; i < x.numel(); i++) {
            long at = idx.getLong(i);
            if (at < 0 || at >= y.length) throw c.error("index " + at + " is outside the output of " + y.length + " elements");
            y[(int) at] = x.getDouble(i);
        }
        return List.of(Tensor.ofDoubles(x.dtype(), ys, y));
    }
}
