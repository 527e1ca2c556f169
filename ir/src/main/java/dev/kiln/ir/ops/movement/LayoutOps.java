package dev.kiln.ir.ops.movement;

import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.Node;
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
import java.util.function.Function;

import static dev.kiln.ir.ops.movement.Indexing.*;

/**
 * Ops that rearrange elements: Transpose, Concat, Split, Tile, DepthToSpace, SpaceToDepth, ReverseSequence,
 * and Trilu (keeps a triangle, zeroes the rest).
 */
public final class LayoutOps implements OpFamily {
    @Override public void register(OpRegistry.Builder r) {
        r.add(OpDef.op("Transpose").traits(Trait.MOVEMENT).inputs(1).outputs(1)
                .check(n -> {
                    long[] p = n.attrInts("perm");
                    if (p != null) permOf(p, p.length, m -> bad(n, m));
                })
                .infer(c -> {
                    TensorType t = c.inputType(0);
                    long[] p = c.node().attrInts("perm");
                    if (!t.shape().ranked()) return one(t.dtype(), p == null ? Shape.UNRANKED : Shape.unknown(p.length));
                    int[] perm = permOf(p, t.rank(), c::error);
                    Dim[] out = new Dim[perm.length];
                    for (int i = 0; i < perm.length; i++) out[i] = t.shape().dim(perm[i]);
                    return one(t.dtype(), Shape.of(out));
                })
                .eval(c -> List.of(transpose(c.input(0), permOf(c.node().attrInts("perm"), c.input(0).rank(), c::error)))));
        r.add(OpDef.op("Concat").traits(Trait.MOVEMENT).inputs(1, OpDef.VARIADIC).outputs(1)
                .check(n -> { if (!n.hasAttr("axis")) throw n.missing("axis"); })
                .infer(LayoutOps::concatRule)
                .eval(LayoutOps::concat));
        r.add(OpDef.op("Split").traits(Trait.MOVEMENT).inputs(1, 2).outputs(1, OpDef.VARIADIC)
                .check(n -> {
                    if (n.hasAttr("num_outputs") && n.hasInput(1)) throw bad(n, "Split takes either a split input or num_outputs, not both");
                    if (n.hasAttr("num_outputs") && n.attrInt("num_outputs") < 1) throw bad(n, "num_outputs must be at least 1");
                })
                .infer(LayoutOps::splitRule)
                .eval(LayoutOps::split));
        r.add(OpDef.op("Tile").traits(Trait.MOVEMENT).inputs(2).outputs(1)
                .infer(c -> {
                    TensorType t = c.inputType(0);
                    requireIndexType(c, 1, "repeats");
                    long[] rep = constLongs(c, 1);
                    if (!t.shape().ranked()) return one(t.dtype(), Shape.UNRANKED);
                    if (rep == null) return one(t.dtype(), Shape.unknown(t.rank()));
                    if (rep.length != t.rank()) throw c.error("repeats has " + rep.length + " values for a rank-" + t.rank() + " input");
                    Dim[] out = new Dim[rep.length];
                    for (int i = 0; i < rep.length; i++) {
                        if (rep[i] < 0) throw c.error("negative repeat " + rep[i]);
                        out[i] = mul(t.shape().dim(i), Dim.of(rep[i]));
                    }
                    return one(t.dtype(), Shape.of(out));
                })
                .eval(c -> {
                    long[] s = c.input(0).shape(), rep = c.input(1).toLongs(), st = Shapes.strides(s);
                    if (rep.length != s.length) throw c.error("repeats has " + rep.length + " values for a rank-" + s.length + " input");
                    long[] out = new long[s.length];
                    for (int i = 0; i < s.length; i++) {
                        if (rep[i] < 0) throw c.error("negative repeat " + rep[i]);
                        out[i] = s[i] * rep[i];
                    }
                    return List.of(take(c.input(0), out, map(out, o -> {
                        long p = 0;
                        for (int a = 0; a < o.length; a++) p += (o[a] % s[a]) * st[a];
                        return (int) p;
                    })));
                }));
        r.add(OpDef.op("DepthToSpace").traits(Trait.MOVEMENT).inputs(1).outputs(1)
                .check(n -> { blocksize(n); oneOf(n, "mode", "DCR", "DCR", "CRD"); })
                .infer(c -> blockRule(c, true))
                .eval(c -> List.of(blockMove(c, true))));
        r.add(OpDef.op("SpaceToDepth").traits(Trait.MOVEMENT).inputs(1).outputs(1)
                .check(LayoutOps::blocksize)
                .infer(c -> blockRule(c, false))
                .eval(c -> List.of(blockMove(c, false))));
        r.add(OpDef.op("Trilu").inputs(1, 2).outputs(1)
                .infer(c -> {
                    TensorType t = c.inputType(0);
                    if (t.shape().ranked() && t.rank() < 2) throw c.error("input must have rank >= 2, has shape " + t.shape());
                    if (c.hasInput(1) && c.inputType(1).dtype() != DType.I64) throw c.error("k must be int64");
                    return List.of(t);
                })
                .eval(c -> {
                    long[] s = c.input(0).shape();
                    if (s.length < 2) throw c.error("input must have rank >= 2");
                    long k = c.hasInput(1) ? c.input(1).getLong(0) : 0;
                    boolean upper = c.node().attrInt("upper", 1) != 0;
                    int rows = s.length - 2, cols = s.length - 1;
                    int[] k0 = {0};
                    return List.of(take(c.input(0), s, map(s, o -> {
                        long d = (long) o[cols] - o[rows];
                        int at = k0[0]++;
                        return (upper ? d >= k : d <= k) ? at : -1;
                    })));
                }));
        r.add(OpDef.op("ReverseSequence").traits(Trait.MOVEMENT).inputs(2).outputs(1)
                .check(n -> {
                    long b = n.attrInt("batch_axis", 1), t = n.attrInt("time_axis", 0);
                    if (b < 0 || b > 1 || t < 0 || t > 1 || b == t)
                        throw bad(n, "batch_axis and time_axis must be 0 and 1 in some order, are " + b + " and " + t);
                })
                .infer(c -> {
                    TensorType t = c.inputType(0);
                    if (t.shape().ranked() && t.rank() < 2) throw c.error("input must have rank >= 2, has shape " + t.shape());
                    requireIndexType(c, 1, "sequence_lens");
                    return List.of(t);
                })
                .eval(c -> {
                    long[] s = c.input(0).shape(), lens = c.input(1).toLongs(), st = Shapes.strides(s);
                    int b = (int) c.node().attrInt("batch_axis", 1), ta = (int) c.node().attrInt("time_axis", 0);
                    if (lens.length != s[b]) throw c.error("sequence_lens has " + lens.length + " values for batch size " + s[b]);
                    for (long l : lens) if (l < 0 || l > s[ta]) throw c.error("sequence length " + l + " is outside [0, " + s[ta] + "]");
                    return List.of(take(c.input(0), s, map(s, o -> {
                        long len = lens[o[b]], t = o[ta];
                        long p = linear(o, st);
                        return (int) (t < len ? p + (len - 1 - 2 * t) * st[ta] : p);
                    })));
                }));
    }

    /** The permutation (default: reversed axes), checked to be one of 0..rank-1. */
    private static int[] permOf(long[] p, int rank, Function<String, RuntimeException> err) {
        int[] perm = new int[rank];
        if (p == null) {
            for (int i = 0; i < rank; i++) perm[i] = rank - 1 - i;
            return perm;
        }
        if (p.length != rank) throw err.apply("perm " + Arrays.toString(p) + " has " + p.length + " entries for rank " + rank);
        boolean[] seen = new boolean[rank];
        for (int i = 0; i < rank; i++) {
            if (p[i] < 0 || p[i] >= rank || seen[(int) p[i]]) throw err.apply("perm " + Arrays.toString(p) + " is not a permutation");
            seen[(int) p[i]] = true;
            perm[i] = (int) p[i];
        }
        return perm;
    }

    // ---- Concat ----

    private static List<TensorType> concatRule(InferContext c) {
        DType dt = c.inputType(0).dtype();
        int rank = -1;
        for (int i = 0; i < c.numInputs(); i++) {
            TensorType t = c.inputType(i);
            if (t.dtype() != dt) throw c.error("inputs must have one dtype, got " + dt + " and " + t.dtype());
            if (!t.shape().ranked()) continue;
            if (rank >= 0 && t.rank() != rank) throw c.error("inputs must have one rank, got " + rank + " and " + t.rank());
            rank = t.rank();
        }
        if (rank < 0) return one(dt, Shape.UNRANKED);
        int axis = axis(c, c.node().attrInt("axis"), rank);
        Dim[] out = new Dim[rank];
        for (int a = 0; a < rank; a++) {
            Dim d = a == axis ? Dim.of(0) : Dim.UNKNOWN;
            for (int i = 0; i < c.numInputs(); i++) {
                Shape s = c.inputType(i).shape();
                if (!s.ranked()) { if (a == axis) d = Dim.UNKNOWN; continue; }
                Dim x = s.dim(a);
                if (a == axis) d = d.isUnknown() ? d : add(d, x);
                else if (d.isStatic() && x.isStatic() && d.size() != x.size())
                    throw c.error("inputs differ in axis " + a + " (" + d + " vs " + x + ")");
                else d = unify(d, x);
            }
            out[a] = d;
        }
        return one(dt, Shape.of(out));
    }

    private static List<Tensor> concat(EvalContext c) {
        int n = c.numInputs();
        long[] first = c.input(0).shape();
        int axis = axis(c, c.node().attrInt("axis"), first.length);
        long[] out = first.clone();
        out[axis] = 0;
        long[] offset = new long[n + 1], start = new long[n + 1]; // element offset of input i, its first axis index
        List<Tensor> parts = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Tensor t = c.input(i);
            long[] s = t.shape();
            if (s.length != first.length) throw c.error("inputs must have one rank");
            for (int a = 0; a < s.length; a++)
                if (a != axis && s[a] != first[a]) throw c.error("inputs differ in axis " + a + ": " + Arrays.toString(first) + " vs " + Arrays.toString(s));
            start[i + 1] = start[i] + s[axis];
            offset[i + 1] = offset[i] + t.numel();
            out[axis] += s[axis];
            parts.add(t);
        }
        long[][] strides = new long[n][];
        for (int i = 0; i < n; i++) strides[i] = Shapes.strides(parts.get(i).shape());
        return List.of(take(flat(parts), out, map(out, o -> {
            int i = 0;
            while (o[axis] >= start[i + 1]) i++;
            long p = offset[i];
            for (int a = 0; a < o.length; a++) p += (a == axis ? o[a] - start[i] : o[a]) * strides[i][a];
            return (int) p;
        })));
    }

    /** All inputs' elements, one after the other, as a 1-D tensor. */
    /** Transpose semantics: output axis i is input axis {@code perm[i]}; the elements are copied exactly (any dtype). */
    public static Tensor transpose(Tensor x, int[] perm) {
        long[] s = x.shape(), st = Shapes.strides(s);
        long[] out = new long[s.length], ps = new long[s.length];
        for (int i = 0; i < perm.length; i++) { out[i] = s[perm[i]]; ps[i] = st[perm[i]]; }
        if (x.dtype().isString() || out.length == 0 || x.numel() == 0) return take(x, out, map(out, o -> linear(o, ps)));
        // bytes moved row by row, with no index array and no call per element: folding channels-last's weight
        // Transposes copies every conv weight of a model (ResNet-50: 25M elements) through here, once per process,
        // so the loop is a small method of int arithmetic that the JIT compiles after a few rows
        int w = x.dtype().storageBytes(), r = out.length, inner = (int) out[r - 1], innerStride = (int) ps[r - 1] * w;
        byte[] in = x.storage(), o = new byte[x.numel() * w];
        int[] c = new int[r - 1];
        for (int at = 0; at < o.length; at += inner * w) {
            long from = 0;
            for (int a = 0; a < r - 1; a++) from += c[a] * ps[a];
            copyRow(in, (int) from * w, innerStride, o, at, inner, w);
            for (int a = r - 2; a >= 0; a--) {
                if (++c[a] < out[a]) break;
                c[a] = 0;
            }
        }
        return Tensor.adopt(x.dtype(), out, o); // o is new and goes nowhere else
    }

    /** {@code n} elements of {@code w} bytes from {@code in} (every {@code stride} bytes) to {@code o}, packed. */
    private static void copyRow(byte[] in, int from, int stride, byte[] o, int at, int n, int w) {
        if (w == 4) {
            for (int j = 0; j < n; j++, from += stride, at += 4) {
                o[at] = in[from];
                o[at + 1] = in[from + 1];
                o[at + 2] = in[from + 2];
                o[at + 3] = in[from + 3];
            }
        } else if (w == 2) {
            for (int j = 0; j < n; j++, from += stride, at += 2) {
                o[at] = in[from];
                o[at + 1] = in[from + 1];
            }
        } else {
            for (int j = 0; j < n; j++, from += stride)
                for (int b = 0; b < w; b++) o[at++] = in[from + b];
        }
    }

    private static Tensor flat(List<Tensor> parts) {
        int total = 0;
        for (Tensor t : parts) total += t.numel();
        if (parts.get(0).dtype().isString()) {
            String[] all = new String[total];
            int k = 0;
            for (Tensor t : parts) for (String s : t.toStrings()) all[k++] = s;
            return Tensor.ofStrings(new long[] {total}, all);
        }
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        for (Tensor t : parts) b.writeBytes(t.storage());
        return Tensor.ofBytes(parts.get(0).dtype(), new long[] {total}, b.toByteArray());
    }

    // ---- Split ----

    private static List<TensorType> splitRule(InferContext c) {
        TensorType t = c.inputType(0);
        Node n = c.node();
        long[] split = constLongs(c, 1);
        int count = n.hasAttr("num_outputs") ? (int) n.attrInt("num_outputs")
                : c.hasInput(1) ? (split != null ? split.length : staticLength(c, 1)) : n.outputs().size();
        if (c.hasInput(1)) requireIndexType(c, 1, "split");
        if (count <= 0) count = n.outputs().size();
        if (count <= 0) throw c.error("cannot tell how many outputs Split makes");
        List<TensorType> out = new ArrayList<>();
        if (!t.shape().ranked()) {
            for (int i = 0; i < count; i++) out.add(t);
            return out;
        }
        int axis = axis(c, n.attrInt("axis", 0), t.rank());
        Dim d = t.shape().dim(axis);
        // a split input known only at run time leaves the part sizes unknown
        long[] sizes = c.hasInput(1) && split == null ? null
                : d.isStatic() ? splitSizes(n, split, count, d.size(), c::error) : split;
        for (int i = 0; i < count; i++) {
            Dim[] dims = t.shape().dims().toArray(new Dim[0]);
            dims[axis] = sizes == null ? Dim.UNKNOWN : Dim.of(sizes[i]);
            out.add(new TensorType(t.dtype(), Shape.of(dims)));
        }
        return out;
    }

    /** The size of each part: the split input, or num_outputs chunks of ceil(d / n), the last one smaller. */
    private static long[] splitSizes(Node n, long[] split, int count, long d, Function<String, RuntimeException> err) {
        if (split != null) {
            long sum = 0;
            for (long s : split) {
                if (s < 0) throw err.apply("negative split size " + s);
                sum += s;
            }
            if (sum != d) throw err.apply("split " + Arrays.toString(split) + " sums to " + sum + ", the axis has " + d);
            return split;
        }
        long chunk = Math.ceilDiv(d, count);
        long[] sizes = new long[count];
        for (int i = 0; i < count; i++) sizes[i] = Math.clamp(d - i * chunk, 0, chunk);
        return sizes;
    }

    private static List<Tensor> split(EvalContext c) {
        Tensor x = c.input(0);
        Node n = c.node();
        long[] s = x.shape(), st = Shapes.strides(s);
        int axis = axis(c, n.attrInt("axis", 0), s.length);
        long[] split = longs(c, 1);
        int count = n.hasAttr("num_outputs") ? (int) n.attrInt("num_outputs") : split != null ? split.length : n.outputs().size();
        long[] sizes = splitSizes(n, split, count, s[axis], c::error);
        List<Tensor> out = new ArrayList<>();
        long begin = 0;
        for (long size : sizes) {
            long[] os = s.clone();
            os[axis] = size;
            long b = begin;
            out.add(take(x, os, map(os, o -> (int) (linear(o, st) + b * st[axis]))));
            begin += size;
        }
        return out;
    }

    // ---- DepthToSpace / SpaceToDepth ----

    private static void blocksize(Node n) {
        if (!n.hasAttr("blocksize")) throw n.missing("blocksize");
        if (n.attrInt("blocksize") < 1) throw bad(n, "blocksize must be positive, is " + n.attrInt("blocksize"));
    }

    private static List<TensorType> blockRule(InferContext c, boolean toSpace) {
        TensorType t = c.inputType(0);
        if (!t.shape().ranked()) return one(t.dtype(), Shape.unknown(4));
        if (t.rank() != 4) throw c.error("input must be 4-D [N,C,H,W], has shape " + t.shape());
        long b = c.node().attrInt("blocksize");
        Shape s = t.shape();
        Dim ch = s.dim(1), h = s.dim(2), w = s.dim(3);
        Dim bb = Dim.of(b);
        if (toSpace) {
            if (ch.isStatic() && ch.size() % (b * b) != 0) throw c.error("channels " + ch + " are not a multiple of blocksize^2 = " + b * b);
            return one(t.dtype(), Shape.of(s.dim(0), ch.isStatic() ? Dim.of(ch.size() / (b * b)) : b == 1 ? ch : Dim.UNKNOWN,
                    mul(h, bb), mul(w, bb)));
        }
        for (Dim d : new Dim[] {h, w})
            if (d.isStatic() && d.size() % b != 0) throw c.error("height and width must be multiples of blocksize " + b + ", shape " + s);
        return one(t.dtype(), Shape.of(s.dim(0), mul(ch, Dim.of(b * b)),
                h.isStatic() ? Dim.of(h.size() / b) : b == 1 ? h : Dim.UNKNOWN,
                w.isStatic() ? Dim.of(w.size() / b) : b == 1 ? w : Dim.UNKNOWN));
    }

    /**
     * DCR: out[n, c, h*b+i, w*b+j] = in[n, (i*b+j)*C' + c, h, w]; CRD: in[n, c*b*b + i*b + j, h, w].
     * SpaceToDepth is the inverse of DCR.
     */
    private static Tensor blockMove(EvalContext c, boolean toSpace) {
        Tensor x = c.input(0);
        long[] s = x.shape();
        if (s.length != 4) throw c.error("input must be 4-D [N,C,H,W]");
        int b = (int) c.node().attrInt("blocksize");
        boolean crd = c.node().attrString("mode", "DCR").equals("CRD");
        long[] st = Shapes.strides(s);
        if (toSpace) {
            if (s[1] % ((long) b * b) != 0) throw c.error("channels " + s[1] + " are not a multiple of blocksize^2");
            long cOut = s[1] / ((long) b * b);
            long[] out = {s[0], cOut, s[2] * b, s[3] * b};
            return take(x, out, map(out, o -> {
                int i = o[2] % b, j = o[3] % b;
                long ch = crd ? o[1] * b * b + (long) i * b + j : ((long) i * b + j) * cOut + o[1];
                return (int) (o[0] * st[0] + ch * st[1] + (o[2] / b) * st[2] + (o[3] / b) * st[3]);
            }));
        }
        if (s[2] % b != 0 || s[3] % b != 0) throw c.error("height and width must be multiples of blocksize " + b);
        long[] out = {s[0], s[1] * b * b, s[2] / b, s[3] / b};
        return take(x, out, map(out, o -> {
            long blk = o[1] / s[1], ch = o[1] % s[1];
            long i = blk / b, j = blk % b;
            return (int) (o[0] * st[0] + ch * st[1] + (o[2] * b + i) * st[2] + (o[3] * b + j) * st[3]);
        }));
    }
}
