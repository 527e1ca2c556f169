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
 * Ops that reinterpret a tensor's shape without moving elements: Reshape, Flatten, Squeeze, Unsqueeze, and
 * Expand (broadcast copy). Their shape rules read the constant value of the shape/axes input when there is
 * one and otherwise fall back to unknown dims (or an unknown rank when even the length is unknown).
 */
public final class ReshapeOps implements OpFamily {
    @Override public void register(OpRegistry.Builder r) {
        r.add(OpDef.op("Reshape").traits(Trait.MOVEMENT).inputs(2).outputs(1)
                .infer(ReshapeOps::reshapeRule)
                .eval(c -> List.of(reshapeTo(c, resolveReshape(c, c.input(0).shape(), c.input(1).toLongs())))));
        r.add(OpDef.op("Flatten").traits(Trait.MOVEMENT).inputs(1).outputs(1)
                .infer(ReshapeOps::flattenRule)
                .eval(c -> {
                    long[] s = c.input(0).shape();
                    int a = flattenAxis(c.node().attrInt("axis", 1), s.length, c::error);
                    long outer = Tensor.numel(Arrays.copyOf(s, a));
                    return List.of(reshapeTo(c, new long[] {outer, Tensor.numel(Arrays.copyOfRange(s, a, s.length))}));
                }));
        r.add(OpDef.op("Squeeze").traits(Trait.MOVEMENT).inputs(1, 2).outputs(1)
                .infer(ReshapeOps::squeezeRule)
                .eval(c -> {
                    long[] s = c.input(0).shape();
                    long[] axes = longs(c, 1);
                    boolean[] drop = new boolean[s.length];
                    if (axes == null) for (int i = 0; i < s.length; i++) drop[i] = s[i] == 1;
                    else for (long a : axes) {
                        int ax = axis(c, a, s.length);
                        if (s[ax] != 1) throw c.error("cannot squeeze axis " + a + " of size " + s[ax]);
                        drop[ax] = true;
                    }
                    long[] out = new long[s.length];
                    int k = 0;
                    for (int i = 0; i < s.length; i++) if (!drop[i]) out[k++] = s[i];
                    return List.of(reshapeTo(c, Arrays.copyOf(out, k)));
                }));
        r.add(OpDef.op("Unsqueeze").traits(Trait.MOVEMENT).inputs(2).outputs(1)
                .infer(ReshapeOps::unsqueezeRule)
                .eval(c -> {
                    long[] s = c.input(0).shape(), axes = c.input(1).toLongs();
                    int rank = s.length + axes.length;
                    boolean[] ins = new boolean[rank];
                    for (long a : axes) {
                        int ax = axis(c, a, rank);
                        if (ins[ax]) throw c.error("axis " + a + " is repeated");
                        ins[ax] = true;
                    }
                    long[] out = new long[rank];
                    for (int i = 0, k = 0; i < rank; i++) out[i] = ins[i] ? 1 : s[k++];
                    return List.of(reshapeTo(c, out));
                }));
        r.add(OpDef.op("Expand").traits(Trait.MOVEMENT).inputs(2).outputs(1)
                .infer(c -> {
                    requireIndexType(c, 1, "shape");
                    long[] target = constLongs(c, 1);
                    Shape in = c.inputType(0).shape();
                    Shape t;
                    if (target != null) t = Shape.of(target);
                    else if (staticLength(c, 1) >= 0) t = Shape.unknown(staticLength(c, 1));
                    else return one(c.inputType(0).dtype(), Shape.UNRANKED);
                    return one(c.inputType(0).dtype(), Shapes.broadcast(in, t));
                })
                .eval(c -> {
                    long[] in = c.input(0).shape(), target = c.input(1).toLongs();
                    long[] out;
                    try {
                        out = Shapes.broadcast(in, target);
                    } catch (dev.kiln.ir.ShapeException e) {
                        throw c.error("cannot expand " + Arrays.toString(in) + " to " + Arrays.toString(target));
                    }
                    return List.of(take(c.input(0), out, Shapes.broadcastIndex(in, out)));
                }));
    }

    private static Tensor reshapeTo(EvalContext c, long[] shape) {
        Tensor t = c.input(0);
        if (Tensor.numel(shape) != t.numel())
            throw c.error("cannot reshape " + Arrays.toString(t.shape()) + " (" + t.numel() + " elements) to " + Arrays.toString(shape));
        return t.reshape(shape);
    }

    // ---- Reshape ----

    /** The concrete target shape: 0 copies the input dim (unless allowzero), -1 takes the rest. */
    static long[] resolveReshape(EvalContext c, long[] in, long[] target) {
        boolean allowzero = c.node().attrInt("allowzero", 0) != 0;
        long[] out = target.clone();
        int minus = -1;
        long known = 1;
        for (int i = 0; i < out.length; i++) {
            if (out[i] == -1) {
                if (minus >= 0) throw c.error("shape " + Arrays.toString(target) + " has more than one -1");
                minus = i;
                continue;
            }
            if (out[i] < -1) throw c.error("shape " + Arrays.toString(target) + " has a negative size");
            if (out[i] == 0 && !allowzero) {
                if (i >= in.length) throw c.error("shape " + Arrays.toString(target) + " copies dim " + i + " of rank-" + in.length + " input");
                out[i] = in[i];
            }
            known *= out[i];
        }
        if (minus >= 0) {
            long n = Tensor.numel(in);
            if (known == 0 || n % known != 0)
                throw c.error("cannot reshape " + Arrays.toString(in) + " to " + Arrays.toString(target));
            out[minus] = n / known;
        }
        return out;
    }

    private static List<TensorType> reshapeRule(InferContext c) {
        DType dt = c.inputType(0).dtype();
        if (c.inputType(1).dtype() != DType.I64) throw c.error("shape must be int64, not " + c.inputType(1).dtype());
        long[] target = constLongs(c, 1);
        if (target == null) {
            int n = staticLength(c, 1);
            return one(dt, n < 0 ? Shape.UNRANKED : Shape.unknown(n));
        }
        boolean allowzero = c.node().attrInt("allowzero", 0) != 0;
        Shape in = c.inputType(0).shape();
        Dim[] out = new Dim[target.length];
        int minus = -1;
        boolean zero = false;
        for (int i = 0; i < target.length; i++) {
            long t = target[i];
            if (t == -1) {
                if (minus >= 0) throw c.error("shape " + Arrays.toString(target) + " has more than one -1");
                minus = i;
            } else if (t < -1) {
                throw c.error("shape " + Arrays.toString(target) + " has a negative size " + t);
            } else if (t == 0 && !allowzero) {
                if (in.ranked() && i >= in.rank())
                    throw c.error("shape " + Arrays.toString(target) + " copies dim " + i + " of a rank-" + in.rank() + " input");
                out[i] = in.ranked() ? in.dim(i) : Dim.UNKNOWN;
            } else {
                zero |= t == 0;
                out[i] = Dim.of(t);
            }
        }
        if (minus >= 0 && zero) throw c.error("allowzero=1 with both 0 and -1 in shape " + Arrays.toString(target));
        if (minus >= 0) out[minus] = in.ranked() ? inferRest(c, in, out, minus) : Dim.UNKNOWN;
        else if (in.isStatic() && Shape.of(out).isStatic() && Shape.of(out).numel() != in.numel())
            throw c.error("cannot reshape " + in + " to " + Arrays.toString(target));
        return one(dt, Shape.of(out));
    }

    /** The -1 dim: input dims divided by the other output dims, cancelling equal symbolic dims. */
    private static Dim inferRest(InferContext c, Shape in, Dim[] out, int minus) {
        long inProd = 1, outProd = 1;
        List<Dim> syms = new ArrayList<>();
        for (Dim d : in.dims()) {
            if (d.isUnknown()) return Dim.UNKNOWN;
            if (d.isStatic()) inProd *= d.size(); else syms.add(d);
        }
        for (int i = 0; i < out.length; i++) {
            if (i == minus) continue;
            Dim d = out[i];
            if (d.isStatic()) outProd *= d.size();
            else if (d.isUnknown() || !syms.remove(d)) return Dim.UNKNOWN;
        }
        if (outProd == 0) {
            if (syms.isEmpty() && inProd != 0) throw c.error("cannot reshape " + in + " to a shape with 0 and -1");
            return Dim.UNKNOWN;
        }
        if (syms.isEmpty()) {
            if (inProd % outProd != 0) throw c.error("cannot reshape " + in + " (" + inProd + " elements) into a multiple of " + outProd);
            return Dim.of(inProd / outProd);
        }
        return syms.size() == 1 && inProd == outProd ? syms.get(0) : Dim.UNKNOWN;
    }

    // ---- Flatten / Squeeze / Unsqueeze ----

    static int flattenAxis(long axis, int rank, java.util.function.Function<String, RuntimeException> err) {
        if (axis < -rank || axis > rank) throw err.apply("axis " + axis + " is out of range [" + -rank + ", " + rank + "]");
        return (int) (axis < 0 ? axis + rank : axis);
    }

    private static List<TensorType> flattenRule(InferContext c) {
        TensorType t = c.inputType(0);
        if (!t.shape().ranked()) return one(t.dtype(), Shape.unknown(2));
        int rank = t.rank(), a = flattenAxis(c.node().attrInt("axis", 1), rank, c::error);
        Dim outer = Dim.of(1), inner = Dim.of(1);
        for (int i = 0; i < rank; i++) {
            if (i < a) outer = mul(outer, t.shape().dim(i));
            else inner = mul(inner, t.shape().dim(i));
        }
        return one(t.dtype(), Shape.of(outer, inner));
    }

    private static List<TensorType> squeezeRule(InferContext c) {
        TensorType t = c.inputType(0);
        Shape s = t.shape();
        if (c.hasInput(1)) requireIndexType(c, 1, "axes");
        long[] axes = constLongs(c, 1);
        if (!s.ranked()) return one(t.dtype(), Shape.UNRANKED);
        if (c.hasInput(1) && axes == null) {
            int n = staticLength(c, 1);
            return one(t.dtype(), n < 0 ? Shape.UNRANKED : Shape.unknown(s.rank() - n));
        }
        boolean[] drop = new boolean[s.rank()];
        if (axes == null) {
            for (int i = 0; i < s.rank(); i++) {
                if (!s.dim(i).isStatic()) return one(t.dtype(), Shape.UNRANKED); // might be 1 at run time
                drop[i] = s.dim(i).size() == 1;
            }
        } else {
            for (int a : Indexing.axes(c, axes, s.rank())) {
                if (s.dim(a).isStatic() && s.dim(a).size() != 1)
                    throw c.error("cannot squeeze axis " + a + " of size " + s.dim(a));
                drop[a] = true;
            }
        }
        List<Dim> out = new ArrayList<>();
        for (int i = 0; i < s.rank(); i++) if (!drop[i]) out.add(s.dim(i));
        return one(t.dtype(), Shape.of(out));
    }

    private static List<TensorType> unsqueezeRule(InferContext c) {
        TensorType t = c.inputType(0);
        requireIndexType(c, 1, "axes");
        long[] axes = constLongs(c, 1);
        if (!t.shape().ranked()) return one(t.dtype(), Shape.UNRANKED);
        if (axes == null) {
            int n = staticLength(c, 1);
            return one(t.dtype(), n < 0 ? Shape.UNRANKED : Shape.unknown(t.rank() + n));
        }
        int rank = t.rank() + axes.length;
        boolean[] ins = new boolean[rank];
        for (int a : Indexing.axes(c, axes, rank)) ins[a] = true;
        Dim[] out = new Dim[rank];
        for (int i = 0, k = 0; i < rank; i++) out[i] = ins[i] ? Dim.of(1) : t.shape().dim(k++);
        return one(t.dtype(), Shape.of(out));
    }
}
