package dev.kiln.passes;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.Value;

import java.util.HashMap;
import java.util.Map;

/**
 * The {@link Canonicalize} rules for the attention family, in a file of their own so Decompositions stays
 * small. Attention is a primitive only in the form the GPU kernel takes: 4-D Q[B,Hq,S,D], K[B,Hkv,L,D],
 * V[B,Hkv,L,Dv], an optional attn_mask, is_causal with the diagonal at offset 0, scale and softcap. The other
 * forms become that one (see ir/ops/linalg/Attention for the semantics):
 * <ul>
 * <li>3-D inputs [B,S,H·D]: Reshape [B,S,H,D] + Transpose to [B,H,S,D]; the result goes back the same way.</li>
 * <li>past_key/past_value: Concat(past, K/V) on the sequence axis, which also is present_key/present_value.</li>
 * <li>causal with a past (diagonal offset by the past length P: key j is kept for query i iff j <= i + P) or
 * with nonpad_kv_seqlen (offset nonpad[b] - S) and nonpad_kv_seqlen itself (key j kept iff j < nonpad[b]):
 * an explicit boolean keep-mask, And-ed into a bool attn_mask or applied to an additive one by Where(keep,
 * m, -inf). A user mask shorter than the keys is first Pad-ded with "masked" (false, or -inf), as the
 * reference reads it.</li>
 * </ul>
 * With the qk_matmul_output 4th output used (the kernel never writes the scores) attention is written out in
 * MatMul, Tanh, Where/Add, a zero-safe softmax and MatMul, and no Attention is left.
 *
 * <p>RotaryEmbedding becomes Gather (cos/sin rows by position_ids), Slice, Mul, Sub/Add and Concat, with
 * Reshape for 3-D inputs and for the interleaved pairs; f16/bf16 compute in f32 like the reference's wider
 * arithmetic.
 */
final class AttentionRules {
    private AttentionRules() {}

    private static Value op(Emitter e, Node n, String op, Value... in) { return e.op(op, Map.of(), n.origin(), in); }

    private static Value reshape(Emitter e, Node n, Value x, long... shape) { return op(e, n, "Reshape", x, e.longs(shape)); }

    private static Value transpose(Emitter e, Node n, Value x, long... perm) {
        return e.op("Transpose", Map.of("perm", Attr.ints(perm)), n.origin(), x);
    }

    private static Value concat(Emitter e, Node n, long axis, Value... in) {
        return e.op("Concat", Map.of("axis", Attr.of(axis)), n.origin(), in);
    }

    private static Value slice(Emitter e, Node n, Value x, long axis, long from, long to) {
        return op(e, n, "Slice", x, e.longs(from), e.longs(to), e.longs(axis));
    }

    private static Value cast(Emitter e, Node n, Value x, DType to) {
        return x.dtype() == to ? x : e.op("Cast", Map.of("to", Attr.of(to.onnxCode())), n.origin(), x);
    }

    private static boolean used(Node n, int output) { return n.outputs().size() > output && !n.output(output).isNone(); }

    private static boolean isStatic(Node n, int i) { return !n.hasInput(i) || n.input(i).shape().isStatic(); }

    // ---- Attention ----

    /** Binds Y (and present_key/present_value) of a non-kernel Attention form; false for the kernel's own form. */
    static boolean attention(Node n, Emitter e) {
        for (int i = 0; i < n.inputs().size(); i++) if (!isStatic(n, i)) return false;
        Value q0 = e.get(n.input(0)), k0 = e.get(n.input(1)), v0 = e.get(n.input(2));
        boolean threeD = q0.shape().rank() == 3, past = n.hasInput(4), nonpad = n.hasInput(6);
        boolean presentUsed = used(n, 1) || used(n, 2);
        boolean explicit = used(n, 3); // qk_matmul_output: no Attention left, the scores are computed in the open
        if (!threeD && !past && !nonpad && !presentUsed && !explicit) return false; // already the kernel's form
        if (past && e.get(n.input(4)).shape().rank() != 4) return false;
        Value q = q0, k = k0, v = v0;
        if (threeD) {
            long hq = n.attrInt("q_num_heads", 0), hkv = n.attrInt("kv_num_heads", 0);
            q = toHeads(e, n, q0, hq);
            k = toHeads(e, n, k0, hkv);
            v = toHeads(e, n, v0, hkv);
        }
        long b = q.shape().dim(0).size(), sq = q.shape().dim(2).size();
        long pastLen = 0;
        if (past) {
            pastLen = e.get(n.input(4)).shape().dim(2).size();
            k = concat(e, n, 2, e.get(n.input(4)), k);
            if (used(n, 1)) { e.bind(n, 1, k); k = e.get(n.output(1)); } // right away: the Concat takes the output's name
            v = concat(e, n, 2, e.get(n.input(5)), v);
            if (used(n, 2)) { e.bind(n, 2, v); v = e.get(n.output(2)); }
        }
        long t = k.shape().dim(2).size();
        boolean causal = n.attrInt("is_causal", 0) != 0;
        boolean kernelCausal = causal && !past && !nonpad && !explicit; // the kernel's diagonal has offset 0

        Value keep = null; // [B|1, 1, S, T] bool, true where a key is kept
        if (causal && !kernelCausal) {
            if (!nonpad || past) keep = e.constant(causalKeep(sq, t, pastLen)); // j <= i + P
            else keep = op(e, n, "LessOrEqual", e.constant(shifted(sq, t)), nonpad4(e, n, b)); // j - i + S <= nonpad[b]
        }
        if (nonpad) {
            Value np = op(e, n, "Less", e.constant(keyIndex(t)), nonpad4(e, n, b)); // j < nonpad[b]
            keep = keep == null ? np : op(e, n, "And", keep, np);
        }
        Value mask = n.hasInput(3) ? e.get(n.input(3)) : Value.NONE;
        if (!mask.isNone() && explicit) mask = padKeys(e, n, mask, t);
        if (keep != null) {
            if (mask.isNone()) mask = keep;
            else {
                mask = padKeys(e, n, mask, t);
                mask = mask.dtype().isBool() ? op(e, n, "And", mask, keep)
                        : op(e, n, "Where", keep, mask, e.scalar(mask.dtype(), Double.NEGATIVE_INFINITY));
            }
        }

        Value y;
        if (explicit) {
            Value[] yq = explicitScores(n, e, q, k, v, mask);
            e.bind(n, 3, yq[1]);
            y = yq[0];
        } else y = kernelAttention(n, e, q, k, v, mask, kernelCausal);
        if (threeD) {
            long hqN = y.shape().dim(1).size(), dv = y.shape().dim(3).size();
            y = reshape(e, n, transpose(e, n, y, 0, 2, 1, 3), b, sq, hqN * dv);
        }
        e.bind(n, 0, y);
        if (!past) { // present_key/present_value are K and V in heads form
            if (used(n, 1)) e.bind(n, 1, k);
            if (used(n, 2)) e.bind(n, 2, v);
        }
        return true;
    }

    /** The kernel's form: 4-D, an optional mask, is_causal at offset 0, scale, softcap. */
    private static Value kernelAttention(Node n, Emitter e, Value q, Value k, Value v, Value mask, boolean causal) {
        Map<String, Attr> attrs = new HashMap<>();
        for (String a : new String[] {"scale", "softcap", "softmax_precision"})
            if (n.hasAttr(a)) attrs.put(a, n.attrs().castToSortedMap().get(a));
        if (causal) attrs.put("is_causal", Attr.of(1));
        return mask.isNone() ? e.op("Attention", attrs, n.origin(), q, k, v) : e.op("Attention", attrs, n.origin(), q, k, v, mask);
    }

    /**
     * Attention written out, for the qk_matmul_output form: s = Q·K^T·scale (mode 0), softcap c·tanh(s/c) (mode 1),
     * plus the mask (bool: Where(keep, s, -inf)) (mode 2), softmax with a fully masked row giving zeros (mode 3),
     * times V. GQA repeats each kv head Hq/Hkv times (Reshape, Expand, Reshape); f16/bf16 compute in f32.
     * Returns {Y, qk}.
     */
    private static Value[] explicitScores(Node n, Emitter e, Value q0, Value k0, Value v0, Value mask) {
        DType dt = q0.dtype(), ct = dt.isLowPrecisionFloat() ? DType.F32 : dt;
        Value q = cast(e, n, q0, ct), k = repeatHeads(e, n, cast(e, n, k0, ct), q0), v = repeatHeads(e, n, cast(e, n, v0, ct), q0);
        long d = q.shape().dim(3).size();
        double scale = n.hasAttr("scale") ? n.attrFloat("scale", 0) : 1 / Math.sqrt(d);
        Value sc = op(e, n, "Mul", op(e, n, "MatMul", q, transpose(e, n, k, 0, 1, 3, 2)), e.scalar(ct, scale));
        Value[] modes = new Value[4];
        modes[0] = sc;
        double cap = n.attrFloat("softcap", 0);
        if (cap > 0) sc = op(e, n, "Mul", op(e, n, "Tanh", op(e, n, "Div", sc, e.scalar(ct, cap))), e.scalar(ct, cap));
        modes[1] = sc;
        Value ninf = e.scalar(ct, Double.NEGATIVE_INFINITY);
        if (!mask.isNone()) sc = mask.dtype().isBool() ? op(e, n, "Where", mask, sc, ninf) : op(e, n, "Add", sc, cast(e, n, mask, ct));
        modes[2] = sc;
        long[] last = {3};
        Value m = e.op("ReduceMax", Map.of("keepdims", Attr.of(1)), n.origin(), sc, e.longs(last));
        Value zero = e.scalar(ct, 0);
        m = op(e, n, "Where", op(e, n, "Equal", m, ninf), zero, m); // a fully masked row: exp(-inf - 0) = 0
        Value ex = op(e, n, "Exp", op(e, n, "Sub", sc, m));
        Value sum = e.op("ReduceSum", Map.of("keepdims", Attr.of(1)), n.origin(), ex, e.longs(last));
        sum = op(e, n, "Where", op(e, n, "Equal", sum, zero), e.scalar(ct, 1), sum); // 0 / 1: zeros, not NaN
        Value p = op(e, n, "Div", ex, sum);
        modes[3] = p;
        Value y = cast(e, n, op(e, n, "MatMul", p, v), dt);
        return new Value[] {y, cast(e, n, modes[(int) n.attrInt("qk_matmul_output_mode", 0)], dt)};
    }

    /** K or V [B,Hkv,T,D] with each kv head repeated Hq/Hkv times: [B,Hq,T,D]. */
    private static Value repeatHeads(Emitter e, Node n, Value x, Value q) {
        long[] s = x.shape().sizes();
        long hq = q.shape().dim(1).size(), g = hq / s[1];
        if (g == 1) return x;
        Value r = op(e, n, "Expand", reshape(e, n, x, s[0], s[1], 1, s[2], s[3]), e.longs(s[0], s[1], g, s[2], s[3]));
        return reshape(e, n, r, s[0], hq, s[2], s[3]);
    }

    /** [B,S,H·D] as [B,H,S,D]. */
    private static Value toHeads(Emitter e, Node n, Value x, long heads) {
        long[] s = x.shape().sizes();
        return transpose(e, n, reshape(e, n, x, s[0], s[1], heads, s[2] / heads), 0, 2, 1, 3);
    }

    /** nonpad_kv_seqlen [B] as [B,1,1,1]. */
    private static Value nonpad4(Emitter e, Node n, long b) { return reshape(e, n, e.get(n.input(6)), b, 1, 1, 1); }

    /** [1,1,1,T]: the key index j. */
    private static Tensor keyIndex(long t) {
        long[] v = new long[(int) t];
        for (int j = 0; j < t; j++) v[j] = j;
        return Tensor.ofLongs(DType.I64, new long[] {1, 1, 1, t}, v);
    }

    /** [1,1,S,T]: j - i + S, which is <= nonpad[b] exactly where j <= i + (nonpad[b] - S). */
    private static Tensor shifted(long s, long t) {
        long[] v = new long[(int) (s * t)];
        for (int i = 0; i < s; i++) for (int j = 0; j < t; j++) v[(int) (i * t + j)] = j - i + s;
        return Tensor.ofLongs(DType.I64, new long[] {1, 1, s, t}, v);
    }

    /** [1,1,S,T] bool: j <= i + past. */
    private static Tensor causalKeep(long s, long t, long past) {
        boolean[] v = new boolean[(int) (s * t)];
        for (int i = 0; i < s; i++) for (int j = 0; j < t; j++) v[(int) (i * t + j)] = j <= i + past;
        return Tensor.ofBools(new long[] {1, 1, s, t}, v);
    }

    /** A mask whose last axis is shorter than T, Pad-ded with "masked" keys (false / -inf) to T. */
    private static Value padKeys(Emitter e, Node n, Value m, long t) {
        long[] s = m.shape().sizes();
        long last = s[s.length - 1];
        if (last == t) return m;
        long[] pads = new long[2 * s.length];
        pads[2 * s.length - 1] = t - last;
        // a scalar fill (or none: false for bool), which the movement kernel takes as a literal
        return m.dtype().isBool() ? op(e, n, "Pad", m, e.longs(pads))
                : op(e, n, "Pad", m, e.longs(pads), e.scalar(m.dtype(), Double.NEGATIVE_INFINITY));
    }

    // ---- RotaryEmbedding ----

    /**
     * y1 = c·x1 - s·x2, y2 = s·x1 + c·x2 over the first R features of each head, (x1, x2) the halves (or the
     * even/odd features when interleaved); the remaining D - R features pass through.
     */
    static Value rotaryEmbedding(Node n, Emitter e) {
        for (int i = 0; i < n.inputs().size(); i++) if (!isStatic(n, i)) return null;
        Value x0 = e.get(n.input(0));
        DType dt = x0.dtype();
        long[] xs = x0.shape().sizes();
        boolean four = xs.length == 4;
        long b = xs[0], h, s, d;
        if (four) { h = xs[1]; s = xs[2]; d = xs[3]; }
        else {
            h = n.attrInt("num_heads", 0);
            s = xs[1];
            if (h <= 0 || xs[2] % h != 0) return null;
            d = xs[2] / h;
        }
        long rot = n.attrInt("rotary_embedding_dim", 0);
        if (rot == 0) rot = d;
        if (rot > d || rot % 2 != 0) return null;
        long half = rot / 2;
        Value cos = e.get(n.input(1)), sin = e.get(n.input(2));
        if (cos.shape().dim(cos.shape().rank() - 1).size() != half) return null;
        if (n.hasInput(3)) {
            if (cos.shape().rank() != 2) return null;
            Value pos = e.get(n.input(3));
            cos = e.op("Gather", Map.of("axis", Attr.of(0)), n.origin(), cos, pos);
            sin = e.op("Gather", Map.of("axis", Attr.of(0)), n.origin(), sin, pos);
        } else if (cos.shape().rank() != 3) return null;
        // work on x as [B,H,S,D] (4-D) or [B,S,H,D] (3-D); the [B,S,R/2] caches broadcast over the head axis
        long[] cs = four ? new long[] {b, 1, s, half} : new long[] {b, s, 1, half};
        DType ct = dt.isLowPrecisionFloat() ? DType.F32 : dt;
        Value x = cast(e, n, four ? x0 : reshape(e, n, x0, b, s, h, d), ct);
        Value c = cast(e, n, reshape(e, n, cos, cs), ct), sn = cast(e, n, reshape(e, n, sin, cs), ct);
        long[] xd = x.shape().sizes();
        Value xr = rot == d ? x : slice(e, n, x, 3, 0, rot);
        Value x1, x2;
        boolean il = n.attrInt("interleaved", 0) != 0;
        long[] pairs = {xd[0], xd[1], xd[2], half, 2};
        if (il) {
            Value p = reshape(e, n, xr, pairs);
            x1 = reshape(e, n, slice(e, n, p, 4, 0, 1), xd[0], xd[1], xd[2], half);
            x2 = reshape(e, n, slice(e, n, p, 4, 1, 2), xd[0], xd[1], xd[2], half);
        } else {
            x1 = slice(e, n, xr, 3, 0, half);
            x2 = slice(e, n, xr, 3, half, rot);
        }
        Value y1 = op(e, n, "Sub", op(e, n, "Mul", c, x1), op(e, n, "Mul", sn, x2));
        Value y2 = op(e, n, "Add", op(e, n, "Mul", sn, x1), op(e, n, "Mul", c, x2));
        Value y;
        if (il) {
            long[] one = {xd[0], xd[1], xd[2], half, 1};
            y = reshape(e, n, concat(e, n, 4, reshape(e, n, y1, one), reshape(e, n, y2, one)), xd[0], xd[1], xd[2], rot);
        } else y = concat(e, n, 3, y1, y2);
        if (rot < d) y = concat(e, n, 3, y, slice(e, n, x, 3, rot, d));
        y = cast(e, n, y, dt);
        return four ? y : reshape(e, n, y, xs);
    }
}
