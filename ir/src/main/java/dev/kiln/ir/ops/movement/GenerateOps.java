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
import dev.kiln.ir.op.Trait;

import java.util.ArrayList;
import java.util.List;

import static dev.kiln.ir.ops.movement.Indexing.*;

/**
 * Ops that make a new tensor from a shape or a few scalars: Shape, Size, ConstantOfShape, Range, EyeLike,
 * OneHot, NonZero. Shape and Size depend only on the input's shape (known at compile time when it is
 * static); Range and NonZero have output shapes that depend on input values (DATA_DEPENDENT_SHAPE), as does
 * ConstantOfShape when its shape input is not a constant.
 */
public final class GenerateOps implements OpFamily {
    @Override public void register(OpRegistry.Builder r) {
        r.add(OpDef.op("Shape").inputs(1).outputs(1)
                .infer(c -> {
                    Shape s = c.inputType(0).shape();
                    if (!s.ranked()) return one(DType.I64, Shape.unknown(1));
                    int[] se = shapeSlice(c.node().attrInt("start", 0), c.node().attrInt("end", s.rank()), s.rank());
                    return one(DType.I64, Shape.of(se[1] - se[0]));
                })
                .eval(c -> {
                    long[] s = c.input(0).shape();
                    int[] se = shapeSlice(c.node().attrInt("start", 0), c.node().attrInt("end", s.length), s.length);
                    return List.of(Tensor.vector(java.util.Arrays.copyOfRange(s, se[0], se[1])));
                }));
        r.add(OpDef.op("Size").inputs(1).outputs(1)
                .infer(c -> one(DType.I64, Shape.SCALAR))
                .eval(c -> List.of(Tensor.scalarLong(DType.I64, c.input(0).numel()))));
        r.add(OpDef.op("ConstantOfShape").traits(Trait.DATA_DEPENDENT_SHAPE).inputs(1).outputs(1)
                .check(n -> {
                    Tensor v = n.attrTensor("value");
                    if (v != null && v.numel() != 1) throw bad(n, "value must hold exactly one element, has " + v.numel());
                })
                .infer(c -> {
                    if (c.inputType(0).dtype() != DType.I64) throw c.error("shape must be int64, not " + c.inputType(0).dtype());
                    DType dt = fillValue(c.node()).dtype();
                    long[] s = constLongs(c, 0);
                    if (s != null) {
                        for (long d : s) if (d < 0) throw c.error("negative dimension " + d + " in shape");
                        return one(dt, Shape.of(s));
                    }
                    int n = staticLength(c, 0);
                    return one(dt, n < 0 ? Shape.UNRANKED : Shape.unknown(n));
                })
                .eval(c -> {
                    long[] s = c.input(0).toLongs();
                    for (long d : s) if (d < 0) throw c.error("negative dimension " + d + " in shape");
                    return List.of(take(fillValue(c.node()), s, new int[(int) Tensor.numel(s)]));
                }));
        r.add(OpDef.op("Range").traits(Trait.DATA_DEPENDENT_SHAPE).inputs(3).outputs(1)
                .infer(c -> {
                    DType dt = c.inputType(0).dtype();
                    for (int i = 0; i < 3; i++) {
                        if (c.inputType(i).dtype() != dt) throw c.error("start, limit and delta must have one dtype");
                        Shape s = c.inputType(i).shape();
                        if (s.ranked() && s.rank() != 0) throw c.error("input " + i + " must be a scalar, has shape " + s);
                    }
                    if (!dt.isFloat() && !dt.isInteger()) throw c.error("Range does not take " + dt);
                    Tensor a = c.constantInput(0), b = c.constantInput(1), d = c.constantInput(2);
                    if (a == null || b == null || d == null) return one(dt, Shape.of(Dim.UNKNOWN));
                    return one(dt, Shape.of(rangeCount(a, b, d, c::error)));
                })
                .eval(c -> {
                    Tensor a = c.input(0), b = c.input(1), d = c.input(2);
                    int n = (int) rangeCount(a, b, d, c::error);
                    DType dt = a.dtype();
                    if (dt.isFloat()) {
                        double[] v = new double[n];
                        for (int i = 0; i < n; i++) v[i] = a.getDouble(0) + i * d.getDouble(0);
                        return List.of(Tensor.ofDoubles(dt, new long[] {n}, v));
                    }
                    long[] v = new long[n];
                    for (int i = 0; i < n; i++) v[i] = a.getLong(0) + i * d.getLong(0);
                    return List.of(Tensor.ofLongs(dt, new long[] {n}, v));
                }));
        r.add(OpDef.op("EyeLike").inputs(1).outputs(1)
                .infer(c -> {
                    TensorType t = c.inputType(0);
                    if (t.shape().ranked() && t.rank() != 2) throw c.error("input must be 2-D, has shape " + t.shape());
                    return one(eyeType(c.node(), t.dtype()), t.shape().ranked() ? t.shape() : Shape.unknown(2));
                })
                .eval(c -> {
                    long[] s = c.input(0).shape();
                    long k = c.node().attrInt("k", 0);
                    long[] v = new long[(int) Tensor.numel(s)];
                    for (int i = 0; i < s[0]; i++) for (int j = 0; j < s[1]; j++) v[(int) (i * s[1] + j)] = j - i == k ? 1 : 0;
                    return List.of(Tensor.ofLongs(eyeType(c.node(), c.input(0).dtype()), s, v));
                }));
        r.add(OpDef.op("OneHot").inputs(3).outputs(1)
                .infer(GenerateOps::oneHotRule)
                .eval(GenerateOps::oneHot));
        r.add(OpDef.op("NonZero").traits(Trait.DATA_DEPENDENT_SHAPE).inputs(1).outputs(1)
                .infer(c -> {
                    Shape s = c.inputType(0).shape();
                    return one(DType.I64, Shape.of(s.ranked() ? Dim.of(s.rank()) : Dim.UNKNOWN, Dim.UNKNOWN));
                })
                .eval(c -> {
                    Tensor x = c.input(0);
                    long[] s = x.shape();
                    List<Integer> hits = new ArrayList<>();
                    for (int i = 0; i < x.numel(); i++) if (nonZero(x, i)) hits.add(i);
                    long[] strides = dev.kiln.ir.op.Shapes.strides(s);
                    long[] out = new long[s.length * hits.size()];
                    for (int h = 0; h < hits.size(); h++)
                        for (int a = 0; a < s.length; a++) out[a * hits.size() + h] = hits.get(h) / strides[a] % s[a];
                    return List.of(Tensor.ofLongs(DType.I64, new long[] {s.length, hits.size()}, out));
                }));
    }

    /** Shape's start/end, each clamped into [0, rank] after adding rank to negatives. */
    private static int[] shapeSlice(long start, long end, int rank) {
        long s = Math.clamp(start < 0 ? start + rank : start, 0, rank);
        long e = Math.clamp(end < 0 ? end + rank : end, 0, rank);
        return new int[] {(int) s, (int) Math.max(s, e)};
    }

    private static Tensor fillValue(dev.kiln.ir.Node n) {
        Tensor v = n.attrTensor("value");
        return v != null ? v : Tensor.scalar(DType.F32, 0);
    }

    /** max(ceil((limit - start) / delta), 0), exact for integers. */
    private static long rangeCount(Tensor a, Tensor b, Tensor d, java.util.function.Function<String, RuntimeException> err) {
        double n;
        if (a.dtype().isFloat()) {
            if (d.getDouble(0) == 0) throw err.apply("delta must not be 0");
            n = Math.ceil((b.getDouble(0) - a.getDouble(0)) / d.getDouble(0));
            if (Double.isNaN(n)) throw err.apply("Range of NaN or infinite bounds");
        } else {
            long start = a.getLong(0), limit = b.getLong(0), delta = d.getLong(0);
            if (delta == 0) throw err.apply("delta must not be 0");
            n = delta > 0 ? Math.ceilDiv(limit - start, delta) : Math.ceilDiv(start - limit, -delta);
        }
        if (n > Tensor.MAX_ELEMENTS) throw err.apply("Range would have " + n + " elements");
        return (long) Math.max(n, 0);
    }

    private static DType eyeType(dev.kiln.ir.Node n, DType input) {
        return n.hasAttr("dtype") ? DType.fromOnnx((int) n.attrInt("dtype")) : input;
    }

    private static boolean nonZero(Tensor x, int i) {
        return x.dtype().isString() ? !x.getString(i).isEmpty() : x.dtype().isFloat() ? x.getDouble(i) != 0 : x.getLong(i) != 0;
    }

    // ---- OneHot: out[..., depth at axis, ...] = values[1] where the index matches, else values[0] ----

    private static List<TensorType> oneHotRule(InferContext c) {
        Shape idx = c.inputType(0).shape(), dep = c.inputType(1).shape(), val = c.inputType(2).shape();
        if (dep.ranked() && !(dep.rank() == 0 || dep.rank() == 1 && isConst(dep.dim(0), 1)))
            throw c.error("depth must be a scalar or a one-element vector, has shape " + dep);
        if (val.ranked() && (val.rank() != 1 || val.dim(0).isStatic() && val.dim(0).size() != 2))
            throw c.error("values must be [off, on], has shape " + val);
        DType dt = c.inputType(2).dtype();
        if (!idx.ranked()) return one(dt, Shape.UNRANKED);
        int rank = idx.rank() + 1;
        int axis = axis(c, c.node().attrInt("axis", -1), rank);
        Tensor d = c.constantInput(1);
        Dim depth = d == null ? Dim.UNKNOWN : Dim.of(depthOf(d, c::error));
        List<Dim> out = new ArrayList<>(idx.dims().castToList());
        out.add(axis, depth);
        return one(dt, Shape.of(out));
    }

    private static long depthOf(Tensor d, java.util.function.Function<String, RuntimeException> err) {
        long depth = d.dtype().isFloat() ? (long) d.getDouble(0) : d.getLong(0);
        if (depth < 1) throw err.apply("depth must be positive, is " + depth);
        return depth;
    }

    private static List<Tensor> oneHot(EvalContext c) {
        Tensor ind = c.input(0), values = c.input(2);
        long depth = depthOf(c.input(1), c::error);
        long[] is = ind.shape();
        int rank = is.length + 1, axis = axis(c, c.node().attrInt("axis", -1), rank);
        long[] os = new long[rank];
        for (int i = 0, k = 0; i < rank; i++) os[i] = i == axis ? depth : is[k++];
        long[] inStrides = dev.kiln.ir.op.Shapes.strides(is);
        // values is [off, on]: element 0 or 1
        int[] idx = map(os, p -> {
            long at = 0;
            for (int i = 0, k = 0; i < rank; i++) if (i != axis) at += p[i] * inStrides[k++];
            double raw = ind.dtype().isFloat() ? ind.getDouble((int) at) : ind.getLong((int) at);
            long v = (long) raw;
            if (v < 0) v += depth;
            return v == p[axis] ? 1 : 0;
        });
        return List.of(take(values, os, idx));
    }
}
