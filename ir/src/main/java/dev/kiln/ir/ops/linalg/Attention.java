package dev.kiln.ir.ops.linalg;

import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.Node;
import dev.kiln.ir.Shape;
import dev.kiln.ir.ShapeException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.op.InferContext;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.op.Shapes;
import dev.kiln.ir.op.Trait;

import java.util.ArrayList;
import java.util.List;

/**
 * ONNX Attention (opset 23/24): Y = softmax(softcap(Q K^T * scale) + bias) V per head, where bias joins the
 * attention mask (additive float, or bool keep-mask), the causal mask and the opset-24 padding mask
 * (nonpad_kv_seqlen). The optional 4th output is, by qk_matmul_output_mode, the scaled Q K^T (0), after softcap
 * (1), after adding the bias (2) or after softmax (3), as the ONNX reference computes it. Inputs are [B,H,S,D], or [B,S,H*D] with q_num_heads/kv_num_heads. past_key/past_value
 * are prepended along the sequence axis and returned as present_key/present_value. Query head h reads kv
 * head h / (Hq/Hkv) (grouped-query attention). A row whose every key is masked yields zeros, not NaN.
 * Everything is computed in double and rounded once into the inputs' dtype, so softmax_precision has nothing
 * left to change and is accepted but not needed.
 */
public final class Attention {
    private Attention() {}

    public static void register(OpRegistry.Builder r) {
        r.add(OpDef.op("Attention").traits(Trait.REDUCTION).inputs(3, 7).outputs(1, 4)
                .check(Attention::check)
                .infer(Attention::infer)
                .eval(c -> {
                    Tensor[] in = new Tensor[7];
                    for (int i = 0; i < 7; i++) in[i] = c.hasInput(i) ? c.input(i) : null;
                    return compute(c.node(), in);
                }));
    }

    private static void check(Node n) {
        long mode = n.attrInt("qk_matmul_output_mode", 0);
        if (mode < 0 || mode > 3)
            throw n.error(new InvalidModelException("qk_matmul_output_mode must be 0..3, got " + mode));
        if (n.attrInt("q_num_heads", 1) <= 0 || n.attrInt("kv_num_heads", 1) <= 0)
            throw n.error(new InvalidModelException("q_num_heads and kv_num_heads must be positive"));
        if (n.hasInput(4) != n.hasInput(5))
            throw n.error(new InvalidModelException("past_key and past_value must be given together"));
    }

    private static List<TensorType> infer(InferContext c) {
        Node n = c.node();
        TensorType q = c.inputType(0), k = c.inputType(1), v = c.inputType(2);
        DType dt = q.dtype();
        if (!dt.isFloat()) throw c.error("Attention needs float Q, got " + q);
        if (k.dtype() != dt || v.dtype() != dt) throw c.error("Q, K and V must share a dtype: " + q + ", " + k + ", " + v);
        if (c.hasInput(3) && !c.inputType(3).dtype().isBool() && c.inputType(3).dtype() != dt)
            throw c.error("attn_mask must be bool or " + dt + ", got " + c.inputType(3));
        if (c.hasInput(6) && c.inputType(6).dtype() != DType.I64) throw c.error("nonpad_kv_seqlen must be int64");
        Shape u = Shape.unknown(4);
        if (!q.shape().ranked() || !k.shape().ranked() || !v.shape().ranked()) {
            Shape y = q.shape().ranked() ? Shape.unknown(q.rank()) : Shape.UNRANKED;
            return List.of(new TensorType(dt, y), new TensorType(dt, u), new TensorType(dt, u), new TensorType(dt, u));
        }
        int rank = q.rank();
        if (rank != 3 && rank != 4 || k.rank() != rank || v.rank() != rank)
            throw c.error("Q, K and V must all be 3-D or all 4-D, got " + q + ", " + k + ", " + v);
        Dim b = q.shape().dim(0), sq = q.shape().dim(rank == 3 ? 1 : 2), skv = k.shape().dim(rank == 3 ? 1 : 2);
        Dim hq, hkv, d, dv;
        if (rank == 3) {
            if (!n.hasAttr("q_num_heads") || !n.hasAttr("kv_num_heads"))
                throw c.error("3-D Attention inputs need the q_num_heads and kv_num_heads attributes");
            long qh = n.attrInt("q_num_heads"), kh = n.attrInt("kv_num_heads");
            hq = Dim.of(qh);
            hkv = Dim.of(kh);
            d = div(c, k.shape().dim(2), kh, "K hidden size");
            Dim dq = div(c, q.shape().dim(2), qh, "Q hidden size");
            if (dq.isStatic() && d.isStatic() && dq.size() != d.size()) throw c.error("Q and K head sizes differ: " + dq + " vs " + d);
            dv = div(c, v.shape().dim(2), kh, "V hidden size");
        } else {
            hq = q.shape().dim(1);
            hkv = k.shape().dim(1);
            d = k.shape().dim(3);
            dv = v.shape().dim(3);
            Dim dq = q.shape().dim(3);
            if (dq.isStatic() && d.isStatic() && dq.size() != d.size()) throw c.error("Q and K head sizes differ: " + q + " vs " + k);
        }
        if (hq.isStatic() && hkv.isStatic() && (hkv.size() == 0 || hq.size() % hkv.size() != 0))
            throw c.error("q heads (" + hq + ") must be a multiple of kv heads (" + hkv + ")");
        Dim total = skv;
        if (c.hasInput(4)) {
            TensorType pk = c.inputType(4);
            total = pk.shape().ranked() && pk.rank() == 4 ? add(pk.shape().dim(2), skv) : Dim.UNKNOWN;
        }
        Shape y = rank == 4 ? Shape.of(b, hq, sq, dv) : Shape.of(b, sq, mul(hq, dv));
        return List.of(new TensorType(dt, y),
                new TensorType(dt, Shape.of(b, hkv, total, d)),
                new TensorType(dt, Shape.of(b, hkv, total, dv)),
                new TensorType(dt, Shape.of(b, hq, sq, total)));
    }

    private static Dim div(InferContext c, Dim x, long by, String what) {
        if (!x.isStatic()) return Dim.UNKNOWN;
        if (x.size() % by != 0) throw c.error(what + " " + x + " is not divisible by " + by + " heads");
        return Dim.of(x.size() / by);
    }

    private static Dim add(Dim a, Dim b) { return a.isStatic() && b.isStatic() ? Dim.of(a.size() + b.size()) : Dim.UNKNOWN; }
    private static Dim mul(Dim a, Dim b) { return a.isStatic() && b.isStatic() ? Dim.of(a.size() * b.size()) : Dim.UNKNOWN; }

    /** A [B,H,S,D] tensor as doubles, from the 4-D form or the 3-D form [B,S,H*D]. */
    private record Heads(int b, int h, int s, int d, double[] v) {
        double at(int bi, int hi, int si, int di) { return v[((bi * h + hi) * s + si) * d + di]; }

        static Heads of(Tensor t, long heads) {
            if (t.rank() == 4) return new Heads((int) t.dim(0), (int) t.dim(1), (int) t.dim(2), (int) t.dim(3), t.toDoubles());
            int b = (int) t.dim(0), s = (int) t.dim(1), hid = (int) t.dim(2), h = (int) heads;
            if (hid % h != 0) throw new ShapeException("hidden size " + hid + " is not divisible by " + h + " heads");
            int d = hid / h;
            double[] src = t.toDoubles(), dst = new double[src.length];
            for (int bi = 0; bi < b; bi++) for (int si = 0; si < s; si++) for (int hi = 0; hi < h; hi++) for (int di = 0; di < d; di++)
                dst[((bi * h + hi) * s + si) * d + di] = src[((bi * s + si) * h + hi) * d + di];
            return new Heads(b, h, s, d, dst);
        }

        /** past followed by this along the sequence axis. */
        Heads after(Heads past) {
            if (past == null) return this;
            if (past.b != b || past.h != h || past.d != d)
                throw new ShapeException("past cache [" + past.b + "," + past.h + ",?," + past.d + "] does not fit [" + b + "," + h + ",?," + d + "]");
            int t = past.s + s;
            double[] r = new double[b * h * t * d];
            for (int bi = 0; bi < b; bi++) for (int hi = 0; hi < h; hi++) for (int si = 0; si < t; si++) for (int di = 0; di < d; di++)
                r[((bi * h + hi) * t + si) * d + di] = si < past.s ? past.at(bi, hi, si, di) : at(bi, hi, si - past.s, di);
            return new Heads(b, h, t, d, r);
        }
    }

    static List<Tensor> compute(Node n, Tensor[] in) {
        Tensor qt = in[0];
        DType dt = qt.dtype();
        boolean threeD = qt.rank() == 3;
        if (qt.rank() != 3 && qt.rank() != 4) throw new ShapeException("Attention Q must be 3-D or 4-D");
        long qh = n.attrInt("q_num_heads", 0), kh = n.attrInt("kv_num_heads", 0);
        if (threeD && (qh <= 0 || kh <= 0)) throw new ShapeException("3-D Attention inputs need q_num_heads and kv_num_heads");
        Heads q = Heads.of(qt, qh), k = Heads.of(in[1], kh), v = Heads.of(in[2], kh);
        Heads pk = in[4] == null ? null : Heads.of(in[4], kh), pv = in[5] == null ? null : Heads.of(in[5], kh);
        Heads key = k.after(pk), val = v.after(pv);
        int b = q.b, hq = q.h, sq = q.s, hkv = key.h, t = key.s, dh = q.d, dvh = val.d;
        if (key.d != dh) throw new ShapeException("Q head size " + dh + " differs from K head size " + key.d);
        if (key.b != b || val.b != b || val.h != hkv || val.s != t) throw new ShapeException("K and V shapes do not agree with Q");
        if (hkv == 0 || hq % hkv != 0) throw new ShapeException("q heads (" + hq + ") must be a multiple of kv heads (" + hkv + ")");
        int group = hq / hkv;
        int past = pk == null ? 0 : pk.s;
        double scale = n.hasAttr("scale") ? n.attrFloat("scale", 0) : 1 / Math.sqrt(dh);
        double softcap = n.attrFloat("softcap", 0);
        boolean causal = n.attrInt("is_causal", 0) != 0;
        int mode = (int) n.attrInt("qk_matmul_output_mode", 0);
        Mask mask = in[3] == null ? null : new Mask(in[3], b, hq, sq, t);
        long[] nonpad = in[6] == null ? null : in[6].toLongs();
        if (nonpad != null && nonpad.length != b) throw new ShapeException("nonpad_kv_seqlen has " + nonpad.length + " entries for batch " + b);

        double[] y = new double[b * hq * sq * dvh];
        double[] qk = new double[b * hq * sq * t];
        double[] row = new double[t];
        for (int bi = 0; bi < b; bi++)
            for (int h = 0; h < hq; h++) {
                int kvh = h / group;
                for (int i = 0; i < sq; i++) {
                    int base = ((bi * hq + h) * sq + i) * t;
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < t; j++) {
                        double s = 0;
                        for (int e = 0; e < dh; e++) s += q.at(bi, h, i, e) * key.at(bi, kvh, j, e);
                        s *= scale;
                        if (mode == 0) qk[base + j] = s;
                        if (softcap > 0) s = softcap * Math.tanh(s / softcap);
                        if (mode == 1) qk[base + j] = s;
                        double bias = 0;
                        if (mask != null) bias += mask.bias(bi, h, i, j);
                        if (causal) {
                            long offset = pk != null ? past : nonpad != null ? nonpad[bi] - sq : 0;
                            if (j > i + offset) bias = Double.NEGATIVE_INFINITY;
                        }
                        if (nonpad != null && j >= nonpad[bi]) bias = Double.NEGATIVE_INFINITY;
                        s += bias;
                        if (mode == 2) qk[base + j] = s;
                        row[j] = s;
                        if (s > max) max = s;
                    }
                    // softmax; a fully masked row (max = -inf) attends to nothing and yields zeros
                    double sum = 0;
                    for (int j = 0; j < t; j++) { row[j] = max == Double.NEGATIVE_INFINITY ? 0 : Math.exp(row[j] - max); sum += row[j]; }
                    for (int j = 0; j < t; j++) {
                        if (sum != 0) row[j] /= sum;
                        if (mode == 3) qk[base + j] = row[j];
                    }
                    for (int e = 0; e < dvh; e++) {
                        double acc = 0;
                        for (int j = 0; j < t; j++) if (row[j] != 0) acc += row[j] * val.at(bi, kvh, j, e);
                        y[((bi * hq + h) * sq + i) * dvh + e] = acc;
                    }
                }
            }
        Tensor out;
        if (threeD) {
            double[] y3 = new double[y.length];
            for (int bi = 0; bi < b; bi++) for (int h = 0; h < hq; h++) for (int i = 0; i < sq; i++) for (int e = 0; e < dvh; e++)
                y3[((bi * sq + i) * hq + h) * dvh + e] = y[((bi * hq + h) * sq + i) * dvh + e];
            out = Tensor.ofDoubles(dt, new long[] {b, sq, (long) hq * dvh}, y3);
        } else out = Tensor.ofDoubles(dt, new long[] {b, hq, sq, dvh}, y);
        List<Tensor> r = new ArrayList<>(4);
        r.add(out);
        r.add(Tensor.ofDoubles(in[1].dtype(), new long[] {b, hkv, t, dh}, key.v));
        r.add(Tensor.ofDoubles(in[2].dtype(), new long[] {b, hkv, t, dvh}, val.v));
        r.add(Tensor.ofDoubles(dt, new long[] {b, hq, sq, t}, qk));
        return r;
    }

    /**
     * The attention mask broadcast to [B,Hq,Sq,T]: bool true keeps a key, floats add. A mask shorter than T
     * in its last axis is padded with "masked" (the cache part it does not cover).
     */
    private static final class Mask {
        private final Tensor m;
        private final long[] shape;
        private final long[] strides;
        private final int last;

        Mask(Tensor m, int b, int h, int s, int t) {
            this.m = m;
            if (m.rank() < 2 || m.rank() > 4) throw new ShapeException("attn_mask must have rank 2 to 4, got " + m.rank());
            long[] ms = m.shape();
            long[] full = {b, h, s, t};
            shape = new long[4];
            strides = new long[4];
            long[] st = Shapes.strides(ms);
            int off = 4 - ms.length;
            for (int a = 0; a < 4; a++) {
                long d = a < off ? 1 : ms[a - off];
                if (a < 3 && d != 1 && d != full[a] || a == 3 && d > t)
                    throw new ShapeException("attn_mask of shape " + java.util.Arrays.toString(ms) + " does not broadcast to "
                            + java.util.Arrays.toString(full));
                shape[a] = d;
                strides[a] = a < off || d == 1 && a < 3 ? 0 : st[a - off];
            }
            last = (int) shape[3];
        }

        double bias(int bi, int h, int i, int j) {
            if (j >= last) return Double.NEGATIVE_INFINITY;
            int idx = (int) (bi * strides[0] + h * strides[1] + i * strides[2] + j * strides[3]);
            if (m.dtype().isBool()) return m.getBool(idx) ? 0 : Double.NEGATIVE_INFINITY;
            return m.getDouble(idx);
        }
    }
}
