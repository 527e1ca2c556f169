package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.CudaSource;
import dev.kiln.ir.DType;
import dev.kiln.ir.Node;
import dev.kiln.ir.StridedView;
import dev.kiln.ir.UnsupportedException;

import java.util.ArrayList;
import java.util.List;

/**
 * One 4-D Attention read from a fused body, for both attention kernels: Q[B,Hq,S,D], K[B,Hkv,L,D],
 * V[B,Hkv,L,Dv] as strided views (the head split and Q/K/V slices fused before it), the mask and the
 * attributes. Query head h reads kv head h / (Hq/Hkv). Checks what neither kernel supports.
 */
record AttentionProblem(Node node, DType dtype, long b, long hq, long hkv, long s, long l, long d, long dv,
                        boolean causal, double scale, double softcap,
                        FusedBody.Operand q, FusedBody.Operand k, FusedBody.Operand v, FusedBody.Operand mask) {

    static AttentionProblem of(Node fused, FusedBody fb) {
        Node at = fb.main();
        for (int i = 4; i < at.inputs().size(); i++)
            if (at.hasInput(i)) throw fused.error(new UnsupportedException("Attention input " + i
                    + (i == 6 ? " (nonpad_kv_seqlen)" : " (past_key/past_value)") + " has no GPU kernel yet; KV caches run on the reference backend"));
        for (int i = 1; i < at.outputs().size(); i++)
            if (!at.output(i).isNone()) throw fused.error(new UnsupportedException("Attention output " + i
                    + " (present_key/present_value/qk_matmul_output) has no GPU kernel yet"));
        DType t = at.input(0).dtype();
        if (t != DType.F32 && t != DType.F16 && t != DType.BF16 && t != DType.F64)
            throw fused.error(new UnsupportedException("Attention on " + t + " has no GPU kernel yet"));
        long[] q = at.input(0).shape().sizes(), k = at.input(1).shape().sizes(), v = at.input(2).shape().sizes();
        if (q.length != 4 || k.length != 4 || v.length != 4)
            throw fused.error(new UnsupportedException("only the 4-D Attention form [B,H,S,D] has a GPU kernel; 3-D inputs are unsupported"));
        long b = q[0], hq = q[1], s = q[2], d = q[3], hkv = k[1], l = k[2], dv = v[3];
        if (k[0] != b || v[0] != b || v[1] != hkv || v[2] != l || k[3] != d || hkv == 0 || hq % hkv != 0)
            throw fused.error(new UnsupportedException("Attention shapes do not line up: Q " + at.input(0).shape() + ", K "
                    + at.input(1).shape() + ", V " + at.input(2).shape()));
        FusedBody.Operand mask = null;
        if (at.hasInput(3)) {
            mask = fb.operand(at.input(3));
            long[] m = mask.view().shape();
            if (m.length < 2 || m.length > 4) throw fused.error(new UnsupportedException("attn_mask must have rank 2 to 4, got " + at.input(3).shape()));
            long[] full = {b, hq, s, l};
            for (int a = 0; a < m.length; a++) {
                int x = a + 4 - m.length;
                if (x < 3 && m[a] != 1 && m[a] != full[x])
                    throw fused.error(new UnsupportedException("attn_mask " + at.input(3).shape() + " does not broadcast to [B,Hq,S,L]"));
            }
            if (m[m.length - 1] > l) throw fused.error(new UnsupportedException("attn_mask is longer than the key sequence"));
        }
        double scale = at.hasAttr("scale") ? at.attrFloat("scale", 0) : 1 / Math.sqrt(d);
        return new AttentionProblem(fused, t, b, hq, hkv, s, l, d, dv, at.attrInt("is_causal", 0) != 0, scale,
                at.attrFloat("softcap", 0), fb.operand(at.input(0)), fb.operand(at.input(1)), fb.operand(at.input(2)), mask);
    }

    long group() { return hq / hkv; }

    /** Floating-point work of the two products without causal skipping: 2*B*Hq*S*L*(D+Dv), 4*B*H*S*L*D when D = Dv. */
    long flops() { return 2 * b * hq * s * l * (d + dv); }

    /**
     * C expression for the element offset of row 0, column 0 of head {@code h} (kv head for K/V) of batch
     * {@code bb} in operand {@code o}; rows and columns then step by {@link #rowStride}/{@link #colStride}.
     */
    static String base(FusedBody.Operand o, String bb, String h) {
        StridedView v = o.view();
        List<String> t = new ArrayList<>();
        if (v.offset() != 0) t.add(Index.ll(v.offset()));
        if (v.size(0) != 1) t.add(bb + " * " + Index.ll(v.stride(0)));
        if (v.size(1) != 1) t.add(h + " * " + Index.ll(v.stride(1)));
        return t.isEmpty() ? "0LL" : String.join(" + ", t);
    }

    static long rowStride(FusedBody.Operand o) { return o.view().size(2) == 1 ? 0 : o.view().stride(2); }

    static long colStride(FusedBody.Operand o) { return o.view().size(3) == 1 ? 1 : o.view().stride(3); }

    /** Whether every row of the operand starts on a multiple of {@code elems} elements and is unit-stride. */
    static boolean rowsAligned(FusedBody.Operand o, long elems) {
        StridedView v = o.view();
        if (colStride(o) != 1 || v.offset() % elems != 0) return false;
        for (int a = 0; a < 3; a++) if (v.size(a) != 1 && v.stride(a) % elems != 0) return false;
        return true;
    }

    /**
     * Emits statements that apply the attention mask for query row {@code row} and key column {@code col} to
     * the float/double variable {@code x}: a bool keep-mask sets -inf where false, an additive mask adds its
     * value times {@code mul} (a C literal, for kernels that work in log2 units), and a column past the mask's
     * last axis is masked, as in the reference. {@code mbase} names a variable declared by {@link #maskBase}.
     */
    void applyMask(CudaSource src, String x, String row, String col, String mbase, String mul, String ninf) {
        StridedView m = mask.view();
        int r = m.rank();
        long cols = m.size(r - 1);
        String rowTerm = r >= 2 && m.size(r - 2) != 1 ? " + " + row + " * " + Index.ll(m.stride(r - 2)) : "";
        String colTerm = cols != 1 ? " + " + col + (m.stride(r - 1) == 1 ? "" : " * " + Index.ll(m.stride(r - 1))) : "";
        String el = "in" + mask.param() + "[" + mbase + rowTerm + colTerm + "]";
        String guard = cols < l ? "if (" + col + " >= " + Index.ll(cols) + ") " + x + " = " + ninf + "; else " : "";
        if (mask.dtype().isBool()) src.line("%sif (%s == 0) %s = %s;", guard, el, x, ninf);
        else src.line("%s%s += %s%s;", guard, x, CTypes.load(mask.dtype(), el), mul.isEmpty() ? "" : " * " + mul);
    }

    /** Declares {@code long long mbase}: the mask offset of batch {@code bb}, query head {@code h}. */
    void maskBase(CudaSource src, String bb, String h) {
        StridedView m = mask.view();
        int r = m.rank();
        List<String> t = new ArrayList<>();
        if (m.offset() != 0) t.add(Index.ll(m.offset()));
        if (r == 4 && m.size(0) != 1) t.add(bb + " * " + Index.ll(m.stride(0)));
        if (r >= 3 && m.size(r - 3) != 1) t.add(h + " * " + Index.ll(m.stride(r - 3)));
        src.line("const long long mbase = %s;", t.isEmpty() ? "0LL" : String.join(" + ", t));
    }
}
