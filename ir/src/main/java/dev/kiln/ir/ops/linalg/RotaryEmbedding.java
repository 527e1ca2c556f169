package dev.kiln.ir.ops.linalg;

import dev.kiln.ir.DType;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.Node;
import dev.kiln.ir.ShapeException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.OpRegistry;

import java.util.List;

/**
 * RotaryEmbedding (opset 23). X is [B,H,S,D] or [B,S,H*D] (then num_heads is required). The first R =
 * rotary_embedding_dim (default D) features of each head rotate by the angle whose cos/sin the caches hold:
 * pairs (x[i], x[i+R/2]), or (x[2i], x[2i+1]) when interleaved, map to (c x1 - s x2, s x1 + c x2). Caches are
 * [maxPos, R/2] indexed by position_ids [B,S], or [B,S,R/2] when position_ids is absent.
 */
public final class RotaryEmbedding {
    private RotaryEmbedding() {}

    public static void register(OpRegistry.Builder r) {
        r.add(OpDef.op("RotaryEmbedding").inputs(3, 4).outputs(1)
                .check(n -> {
                    if (n.attrInt("rotary_embedding_dim", 0) < 0)
                        throw n.error(new InvalidModelException("rotary_embedding_dim must be >= 0"));
                    if (n.attrInt("num_heads", 0) < 0) throw n.error(new InvalidModelException("num_heads must be >= 0"));
                    long il = n.attrInt("interleaved", 0);
                    if (il != 0 && il != 1) throw n.error(new InvalidModelException("interleaved must be 0 or 1, got " + il));
                })
                .infer(c -> {
                    TensorType x = c.inputType(0);
                    if (!x.dtype().isFloat()) throw c.error("RotaryEmbedding needs float input, got " + x);
                    if (c.inputType(1).dtype() != x.dtype() || c.inputType(2).dtype() != x.dtype())
                        throw c.error("cos_cache and sin_cache must be " + x.dtype());
                    if (c.hasInput(3) && c.inputType(3).dtype() != DType.I64) throw c.error("position_ids must be int64");
                    if (x.shape().ranked()) {
                        if (x.rank() != 3 && x.rank() != 4) throw c.error("input must be 3-D or 4-D, got " + x);
                        if (x.rank() == 3 && c.node().attrInt("num_heads", 0) == 0)
                            throw c.error("3-D input needs the num_heads attribute");
                    }
                    return List.of(x);
                })
                .eval(c -> List.of(compute(c.node(), c.input(0), c.input(1), c.input(2), c.input(3)))));
    }

    static Tensor compute(Node n, Tensor x, Tensor cos, Tensor sin, Tensor pos) {
        boolean interleaved = n.attrInt("interleaved", 0) != 0;
        int b = (int) x.dim(0), h, s, d;
        boolean four = x.rank() == 4;
        if (four) { h = (int) x.dim(1); s = (int) x.dim(2); d = (int) x.dim(3); }
        else {
            h = (int) n.attrInt("num_heads", 0);
            s = (int) x.dim(1);
            if (h <= 0 || x.dim(2) % h != 0) throw new ShapeException("hidden size " + x.dim(2) + " is not divisible by num_heads " + h);
            d = (int) x.dim(2) / h;
        }
        int rot = (int) n.attrInt("rotary_embedding_dim", 0);
        if (rot == 0) rot = d;
        if (rot > d || rot % 2 != 0) throw new ShapeException("rotary_embedding_dim " + rot + " must be even and at most the head size " + d);
        int half = rot / 2;
        if (cos.dim(cos.rank() - 1) != half || sin.dim(sin.rank() - 1) != half)
            throw new ShapeException("cos/sin caches must end in rotary_embedding_dim/2 = " + half);
        long[] p = pos == null ? null : pos.toLongs();
        if (p != null && (cos.rank() != 2 || pos.numel() != b * s)) throw new ShapeException("position_ids must be [B,S] with 2-D caches");
        if (p == null && (cos.rank() != 3 || cos.dim(0) != b || cos.dim(1) != s))
            throw new ShapeException("without position_ids the caches must be [B,S,R/2] = [" + b + "," + s + "," + half + "]");
        double[] xv = x.toDoubles(), cv = cos.toDoubles(), sv = sin.toDoubles(), out = xv.clone();
        for (int bi = 0; bi < b; bi++)
            for (int si = 0; si < s; si++) {
                long row = p == null ? (long) bi * s + si : p[bi * s + si];
                if (row < 0 || row * half >= cv.length) throw new ShapeException("position id " + row + " is outside the cache");
                for (int hi = 0; hi < h; hi++) {
                    int base = four ? ((bi * h + hi) * s + si) * d : ((bi * s + si) * h + hi) * d;
                    for (int i = 0; i < half; i++) {
                        int i1 = interleaved ? base + 2 * i : base + i, i2 = interleaved ? i1 + 1 : i1 + half;
                        double c0 = cv[(int) row * half + i], s0 = sv[(int) row * half + i];
                        out[i1] = c0 * xv[i1] - s0 * xv[i2];
                        out[i2] = s0 * xv[i1] + c0 * xv[i2];
                    }
                }
            }
        return Tensor.ofDoubles(x.dtype(), x.shape(), out);
    }
}
