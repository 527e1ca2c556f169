package dev.kiln.ir.ops.movement;

import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.op.EvalContext;
import dev.kiln.ir.op.InferContext;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.OpFamily;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.op.Shapes;
import dev.kiln.ir.op.Trait;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.kiln.ir.ops.movement.Indexing.*;

/**
 * Indexed reads and writes: Gather, GatherElements, GatherND, ScatterElements, ScatterND, Compress.
 * Negative indices count from the end; an index out of range is an EvaluationException naming it.
 * Scatter reductions (add/mul/max/min) are applied in order, integers exact, floats in double.
 */
public final class GatherOps implements OpFamily {
    @Override public void register(OpRegistry.Builder r) {
        r.add(OpDef.op("Gather").traits(Trait.MOVEMENT).inputs(2).outputs(1)
                .infer(c -> {
                    TensorType d = c.inputType(0);
                    Shape ind = c.inputType(1).shape();
                    requireIndexType(c, 1, "indices");
                    if (!d.shape().ranked() || !ind.ranked()) return one(d.dtype(), Shape.UNRANKED);
                    int axis = axis(c, c.node().attrInt("axis", 0), d.rank());
                    List<Dim> out = new ArrayList<>(d.shape().dims().castToList().subList(0, axis));
                    out.addAll(ind.dims().castToList());
                    out.addAll(d.shape().dims().castToList().subList(axis + 1, d.rank()));
                    return one(d.dtype(), Shape.of(out));
                })
                .eval(c -> {
                    Tensor x = c.input(0), ind = c.input(1);
                    long[] s = x.shape(), is = ind.shape(), st = Shapes.strides(s), ist = Shapes.strides(is);
                    int axis = axis(c, c.node().attrInt("axis", 0), s.length), q = is.length;
                    long[] out = new long[s.length - 1 + q];
                    for (int i = 0; i < out.length; i++) out[i] = i < axis ? s[i] : i < axis + q ? is[i - axis] : s[i - q + 1];
                    return List.of(take(x, out, map(out, o -> {
                        long p = 0, at = 0;
                        for (int i = 0; i < q; i++) at += o[axis + i] * ist[i];
                        for (int i = 0; i < axis; i++) p += o[i] * st[i];
                        for (int i = axis + 1; i < s.length; i++) p += o[i + q - 1] * st[i];
                        return (int) (p + index(c, ind.getLong((int) at), s[axis]) * st[axis]);
                    })));
                }));
        r.add(OpDef.op("GatherElements").traits(Trait.MOVEMENT).inputs(2).outputs(1)
                .infer(c -> {
                    requireIndexType(c, 1, "indices");
                    Shape d = c.inputType(0).shape(), ind = c.inputType(1).shape();
                    if (d.ranked() && ind.ranked()) {
                        if (d.rank() != ind.rank()) throw c.error("data and indices must have one rank, have " + d + " and " + ind);
                        axis(c, c.node().attrInt("axis", 0), d.rank());
                    }
                    return one(c.inputType(0).dtype(), ind);
                })
                .eval(c -> {
                    Tensor x = c.input(0), ind = c.input(1);
                    long[] s = x.shape(), is = ind.shape(), st = Shapes.strides(s);
                    if (is.length != s.length) throw c.error("data and indices must have one rank");
                    int axis = axis(c, c.node().attrInt("axis", 0), s.length);
                    int[] k = {0};
                    return List.of(take(x, is, map(is, o -> {
                        long p = 0;
                        for (int a = 0; a < o.length; a++) {
                            if (a != axis && o[a] >= s[a]) throw c.error("indices shape " + Arrays.toString(is) + " exceeds data " + Arrays.toString(s));
                            p += (a == axis ? index(c, ind.getLong(k[0]++), s[a]) : o[a]) * st[a];
                        }
                        return (int) p;
                    })));
                }));
        r.add(OpDef.op("GatherND").traits(Trait.MOVEMENT).inputs(2).outputs(1)
                .infer(GatherOps::gatherNdRule)
                .eval(GatherOps::gatherNd));
        r.add(OpDef.op("ScatterElements").inputs(3).outputs(1)
                .check(n -> oneOf(n, "reduction", "none", "none", "add", "mul", "max", "min"))
                .infer(c -> {
                    requireIndexType(c, 1, "indices");
                    requireSameDType(c, 0, 2);
                    Shape d = c.inputType(0).shape(), ind = c.inputType(1).shape();
                    if (d.ranked() && ind.ranked() && d.rank() != ind.rank())
                        throw c.error("data and indices must have one rank, have " + d + " and " + ind);
                    if (d.ranked()) axis(c, c.node().attrInt("axis", 0), d.rank());
                    return List.of(c.inputType(0));
                })
                .eval(GatherOps::scatterElements));
        r.add(OpDef.op("ScatterND").inputs(3).outputs(1)
                .check(n -> oneOf(n, "reduction", "none", "none", "add", "mul", "max", "min"))
                .infer(c -> {
                    requireIndexType(c, 1, "indices");
                    requireSameDType(c, 0, 2);
                    return List.of(c.inputType(0));
                })
                .eval(GatherOps::scatterNd));
        r.add(OpDef.op("Compress").traits(Trait.MOVEMENT, Trait.DATA_DEPENDENT_SHAPE).inputs(2).outputs(1)
                .infer(GatherOps::compressRule)
                .eval(GatherOps::compress));
    }

    /** A possibly negative index into an axis of size {@code d}. */
    static long index(EvalContext c, long i, long d) {
        if (i < -d || i >= d) throw c.error("index " + i + " is out of range for an axis of size " + d);
        return i < 0 ? i + d : i;
    }

    // ---- GatherND: out = indices.shape[:-1] + data.shape[batch_dims + m:], m = indices.shape[-1] ----

    private static List<TensorType> gatherNdRule(InferContext c) {
        if (c.inputType(1).dtype() != DType.I64) throw c.error("indices must be int64, not " + c.inputType(1).dtype());
        Shape d = c.inputType(0).shape(), ind = c.inputType(1).shape();
        DType dt = c.inputType(0).dtype();
        long b = c.node().attrInt("batch_dims", 0);
        if (!d.ranked() || !ind.ranked() || ind.rank() == 0 || !ind.dim(ind.rank() - 1).isStatic()) return one(dt, Shape.UNRANKED);
        long m = ind.dim(ind.rank() - 1).size();
        if (b < 0 || b >= Math.min(d.rank(), ind.rank())) throw c.error("batch_dims " + b + " must be below the ranks of data and indices");
        if (b + m > d.rank()) throw c.error("indices tuples of length " + m + " exceed data rank " + d.rank() + " after " + b + " batch dims");
        List<Dim> out = new ArrayList<>(ind.dims().castToList().subList(0, ind.rank() - 1));
        out.addAll(d.dims().castToList().subList((int) (b + m), d.rank()));
        return one(dt, Shape.of(out));
    }

    private static List<Tensor> gatherNd(EvalContext c) {
        Tensor x = c.input(0), ind = c.input(1);
        long[] s = x.shape(), is = ind.shape(), st = Shapes.strides(s), ist = Shapes.strides(is);
        int b = (int) c.node().attrInt("batch_dims", 0), q = is.length;
        if (q == 0) throw c.error("indices must have rank >= 1");
        int m = (int) is[q - 1];
        if (b < 0 || b >= Math.min(s.length, q) || b + m > s.length) throw c.error("bad batch_dims " + b + " or index length " + m);
        for (int a = 0; a < b; a++) if (s[a] != is[a]) throw c.error("batch dims of data and indices differ");
        long[] out = new long[q - 1 + s.length - b - m];
        for (int i = 0; i < out.length; i++) out[i] = i < q - 1 ? is[i] : s[i - (q - 1) + b + m];
        return List.of(take(x, out, map(out, o -> {
            long p = 0, at = 0;
            for (int a = 0; a < b; a++) p += o[a] * st[a];
            for (int a = 0; a < q - 1; a++) at += o[a] * ist[a];
            for (int k = 0; k < m; k++) p += index(c, ind.getLong((int) (at + k)), s[b + k]) * st[b + k];
            for (int a = b + m; a < s.length; a++) p += o[a - b - m + q - 1] * st[a];
            return (int) p;
        })));
    }

    // ---- Scatter: out = data, then out[target(j)] = reduce(out[target(j)], updates[j]) in order ----

    private static List<Tensor> scatterElements(EvalContext c) {
        Tensor x = c.input(0), ind = c.input(1), upd = c.input(2);
        long[] s = x.shape(), is = ind.shape(), st = Shapes.strides(s);
        if (!Arrays.equals(is, upd.shape())) throw c.error("indices " + Arrays.toString(is) + " and updates " + Arrays.toString(upd.shape()) + " differ in shape");
        if (is.length != s.length) throw c.error("data and indices must have one rank");
        int axis = axis(c, c.node().attrInt("axis", 0), s.length);
        int[] k = {0};
        int[] target = map(is, o -> {
            long p = 0;
            for (int a = 0; a < o.length; a++) {
                if (a != axis && o[a] >= s[a]) throw c.error("indices shape " + Arrays.toString(is) + " exceeds data " + Arrays.toString(s));
                p += (a == axis ? index(c, ind.getLong(k[0]++), s[a]) : o[a]) * st[a];
            }
            return (int) p;
        });
        return List.of(scatter(c, x, upd, target, 1));
    }

    private static List<Tensor> scatterNd(EvalContext c) {
        Tensor x = c.input(0), ind = c.input(1), upd = c.input(2);
        long[] s = x.shape(), is = ind.shape(), st = Shapes.strides(s);
        int q = is.length;
        if (q == 0) throw c.error("indices must have rank >= 1");
        int m = (int) is[q - 1];
        if (m > s.length) throw c.error("index tuples of length " + m + " exceed data rank " + s.length);
        long[] want = new long[q - 1 + s.length - m];
        for (int i = 0; i < want.length; i++) want[i] = i < q - 1 ? is[i] : s[i - (q - 1) + m];
        if (!Arrays.equals(want, upd.shape()))
            throw c.error("updates should have shape " + Arrays.toString(want) + ", has " + Arrays.toString(upd.shape()));
        int slice = (int) Tensor.numel(Arrays.copyOfRange(s, m, s.length));
        int tuples = (int) Tensor.numel(Arrays.copyOf(is, q - 1));
        int[] target = new int[tuples];
        for (int t = 0; t < tuples; t++) {
            long p = 0;
            for (int j = 0; j < m; j++) p += index(c, ind.getLong(t * m + j), s[j]) * st[j];
            target[t] = (int) p;
        }
        return List.of(scatter(c, x, upd, target, slice));
    }

    /** Writes update slice j (of {@code slice} elements) at element offset target[j], reducing as the node says. */
    private static Tensor scatter(EvalContext c, Tensor x, Tensor upd, int[] target, int slice) {
        String red = c.node().attrString("reduction", "none");
        if (red.equals("none")) {
            int n = x.numel();
            int[] idx = new int[n];
            for (int i = 0; i < n; i++) idx[i] = i;
            for (int j = 0; j < target.length; j++)
                for (int e = 0; e < slice; e++) idx[target[j] + e] = n + j * slice + e;
            Tensor both; // data then updates, one flat source for take
            if (x.dtype().isString()) {
                String[] all = new String[n + upd.numel()];
                System.arraycopy(x.toStrings(), 0, all, 0, n);
                System.arraycopy(upd.toStrings(), 0, all, n, upd.numel());
                both = Tensor.ofStrings(new long[] {all.length}, all);
            } else {
                byte[] a = x.storage(), u = upd.storage(), all = Arrays.copyOf(a, a.length + u.length);
                System.arraycopy(u, 0, all, a.length, u.length);
                both = Tensor.ofBytes(x.dtype(), new long[] {n + upd.numel()}, all);
            }
            return take(both, x.shape(), idx);
        }
        if (x.dtype().isString()) throw c.error("reduction '" + red + "' does not apply to strings");
        if (x.dtype().isFloat()) {
            double[] v = x.toDoubles();
            for (int j = 0; j < target.length; j++)
                for (int e = 0; e < slice; e++) {
                    int t = target[j] + e;
                    double u = upd.getDouble(j * slice + e);
                    v[t] = switch (red) {
                        case "add" -> v[t] + u;
                        case "mul" -> v[t] * u;
                        case "max" -> Double.isNaN(v[t]) || Double.isNaN(u) ? Double.NaN : Math.max(v[t], u);
                        default -> Double.isNaN(v[t]) || Double.isNaN(u) ? Double.NaN : Math.min(v[t], u);
                    };
                    if (x.dtype() != DType.F64) v[t] = Tensor.scalar(x.dtype(), v[t]).getDouble(0); // numpy rounds per step
                }
            return Tensor.ofDoubles(x.dtype(), x.shape(), v);
        }
        long[] v = x.toLongs();
        boolean u64 = x.dtype() == DType.U64;
        for (int j = 0; j < target.length; j++)
            for (int e = 0; e < slice; e++) {
                int t = target[j] + e;
                long u = upd.getLong(j * slice + e);
                int cmp = u64 ? Long.compareUnsigned(v[t], u) : Long.compare(v[t], u);
                v[t] = switch (red) {
                    case "add" -> v[t] + u;
                    case "mul" -> v[t] * u;
                    case "max" -> cmp >= 0 ? v[t] : u;
                    default -> cmp <= 0 ? v[t] : u;
                };
            }
        return Tensor.ofLongs(x.dtype(), x.shape(), v);
    }

    // ---- Compress: keep the slices (or flat elements) whose condition is true ----

    private static List<TensorType> compressRule(InferContext c) {
        TensorType t = c.inputType(0);
        if (c.inputType(1).dtype() != DType.BOOL) throw c.error("condition must be bool, not " + c.inputType(1).dtype());
        Tensor cond = c.constantInput(1);
        Dim kept = Dim.UNKNOWN;
        if (cond != null) {
            long n = 0;
            for (int i = 0; i < cond.numel(); i++) if (cond.getBool(i)) n++;
            kept = Dim.of(n);
        }
        if (!c.node().hasAttr("axis")) return one(t.dtype(), Shape.of(kept));
        if (!t.shape().ranked()) return one(t.dtype(), Shape.UNRANKED);
        int axis = axis(c, c.node().attrInt("axis"), t.rank());
        Dim[] out = t.shape().dims().toArray(new Dim[0]);
        out[axis] = kept;
        return one(t.dtype(), Shape.of(out));
    }

    private static List<Tensor> compress(EvalContext c) {
        Tensor x = c.input(0), cond = c.input(1);
        boolean hasAxis = c.node().hasAttr("axis");
        Tensor src = hasAxis ? x : x.reshape(new long[] {x.numel()});
        long[] s = src.shape(), st = Shapes.strides(s);
        int axis = hasAxis ? axis(c, c.node().attrInt("axis"), s.length) : 0;
        if (cond.numel() > s[axis]) throw c.error("condition has " + cond.numel() + " values for an axis of size " + s[axis]);
        List<Integer> keep = new ArrayList<>();
        for (int i = 0; i < cond.numel(); i++) if (cond.getBool(i)) keep.add(i);
        long[] out = s.clone();
        out[axis] = keep.size();
        return List.of(take(src, out, map(out, o -> {
            long p = 0;
            for (int a = 0; a < o.length; a++) p += (a == axis ? keep.get(o[a]) : o[a]) * st[a];
            return (int) p;
        })));
    }
}
