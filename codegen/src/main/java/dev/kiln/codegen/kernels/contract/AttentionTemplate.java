package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CudaSource;
import dev.kiln.codegen.ExprEmitter;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.KernelTemplate;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.UnsupportedException;

import java.util.List;
import java.util.Set;

/**
 * Fused kind {@code attention}: one ONNX Attention in the 4-D form Q[B,Hq,S,D], K[B,Hkv,L,D], V[B,Hkv,L,Dv]
 * (query head h reads kv head h / (Hq/Hkv)), with optional attn_mask (bool keep-mask or additive, broadcast to
 * [B,Hq,S,L]; key columns past the mask's last axis are masked, as in the reference), is_causal, scale and
 * softcap, plus an optional elementwise epilogue. FlashAttention-style: one block of 128 threads per (query
 * tile of T rows, h, b); K/V tiles of T keys are staged in shared memory; scores for a T x T tile live in
 * shared memory only; an online softmax keeps each row's running max and sum; the output accumulator is fp32
 * (double for f64) in registers. T is the largest of 32, 16, 8 whose tiles fit 48 KB of static shared memory.
 * Causal blocks stop at their last query's key. A row with every key masked yields zeros.
 */
public final class AttentionTemplate implements KernelTemplate {
    static final int THREADS = 128;
    static final int SHARED_LIMIT = 48 * 1024;

    @Override public String name() { return "attention"; }

    @Override public boolean accepts(Node node, Graph graph) { return FusedBody.isKind(node, "attention"); }

    /** The query/key tile size for head sizes d, dv and an element of {@code bytes}; 0 if none fits. */
    static int tile(long d, long dv, int bytes) {
        for (int t : new int[] {32, 16, 8})
            if (sharedBytes(t, d, dv, bytes) <= SHARED_LIMIT) return t;
        return 0;
    }

    static long sharedBytes(int t, long d, long dv, int bytes) {
        return ((long) t * (d + 1) * 2 + (long) t * dv + (long) t * (t + 1) + 3L * t) * bytes;
    }

    @Override public List<KernelSpec> emit(Node node, Graph graph, CodegenContext context) {
        FusedBody fb = FusedBody.of(node, Set.of("Attention"));
        Node at = fb.main();
        for (int i = 4; i < at.inputs().size(); i++)
            if (at.hasInput(i)) throw node.error(new UnsupportedException("Attention input " + i
                    + (i == 6 ? " (nonpad_kv_seqlen)" : " (past_key/past_value)") + " has no GPU kernel yet; KV caches run on the reference backend"));
        for (int i = 1; i < at.outputs().size(); i++)
            if (!at.output(i).isNone()) throw node.error(new UnsupportedException("Attention output " + i
                    + " (present_key/present_value/qk_matmul_output) has no GPU kernel yet"));
        DType t = at.input(0).dtype();
        if (t != DType.F32 && t != DType.F16 && t != DType.BF16 && t != DType.F64)
            throw node.error(new UnsupportedException("Attention on " + t + " has no GPU kernel yet"));
        long[] q = at.input(0).shape().sizes(), k = at.input(1).shape().sizes(), v = at.input(2).shape().sizes();
        if (q.length != 4 || k.length != 4 || v.length != 4)
            throw node.error(new UnsupportedException("only the 4-D Attention form [B,H,S,D] has a GPU kernel; 3-D inputs are unsupported"));
        long b = q[0], hq = q[1], s = q[2], d = q[3], hkv = k[1], l = k[2], dv = v[3];
        if (k[0] != b || v[0] != b || v[1] != hkv || v[2] != l || k[3] != d || hkv == 0 || hq % hkv != 0)
            throw node.error(new UnsupportedException("Attention shapes do not line up: Q " + at.input(0).shape() + ", K "
                    + at.input(1).shape() + ", V " + at.input(2).shape()));
        String ct = t == DType.F64 ? "double" : "float";
        int bytes = t == DType.F64 ? 8 : 4;
        int tt = tile(d, dv, bytes);
        if (tt == 0) throw node.error(new UnsupportedException("Attention head size " + d + "/" + dv + " is too large for the tiled kernel"));
        long group = hq / hkv;
        boolean causal = at.attrInt("is_causal", 0) != 0;
        double scale = at.hasAttr("scale") ? at.attrFloat("scale", 0) : 1 / Math.sqrt(d);
        double softcap = at.attrFloat("softcap", 0);
        String entry = context.kernelName(name());
        if (b * hq * s * dv == 0) return List.of();
        KernelSpec.Dim3 grid;
        try {
            grid = KernelSpec.Dim3.of(Index.ceilDiv(s, tt), hq, b);
        } catch (IllegalArgumentException e) {
            throw node.error(new UnsupportedException("Attention grid out of range (B " + b + ", H " + hq + ")"));
        }

        String f = t == DType.F64 ? "" : "f"; // math function suffix
        String ninf = "__int_as_float(0xff800000)"; // NVRTC has no math.h INFINITY
        int acc = (int) Index.ceilDiv(tt * dv, THREADS);
        CudaSource src = new CudaSource();
        fb.header(src, "Attention Q " + at.input(0).type() + " K " + at.input(1).type() + " V " + at.input(2).type()
                + (causal ? ", causal" : "") + (at.hasInput(3) ? ", mask " + at.input(3).type() : "") + ", flash tile " + tt);
        src.line("");
        try (var kb = src.block(fb.signature(entry, THREADS))) {
            src.line("const int T = %d; const long long S = %d, L = %d, D = %d, DV = %d;", tt, s, l, d, dv);
            src.line("__shared__ %s Qs[%d][%d + 1], Ks[%d][%d + 1], Vs[%d][%d], Ps[%d][%d + 1];", ct, tt, d, tt, d, tt, dv, tt, tt);
            src.line("__shared__ %s rowM[%d], rowL[%d], rowC[%d];", ct, tt, tt, tt);
            src.line("const int tid = threadIdx.x;");
            src.line("const long long q0 = (long long)blockIdx.x * T, h = blockIdx.y, b = blockIdx.z, kvh = h / %dLL;", group);
            src.line("const %s* Qp = %s + (b * %dLL + h) * S * D;", CTypes.storage(t), fb.in(at.input(0)), hq);
            src.line("const %s* Kp = %s + (b * %dLL + kvh) * L * D;", CTypes.storage(t), fb.in(at.input(1)), hkv);
            src.line("const %s* Vp = %s + (b * %dLL + kvh) * L * DV;", CTypes.storage(t), fb.in(at.input(2)), hkv);
            stage(src, "Qs", "Qp", "q0", "S", "D", t, ct);
            src.line("if (tid < T) { rowM[tid] = %s; rowL[tid] = 0; }", ninf);
            src.line("%s acc[%d];", ct, acc);
            src.line("#pragma unroll");
            src.line("for (int r = 0; r < %d; r++) acc[r] = 0;", acc);
            src.line(causal ? "const long long kEnd = q0 + T < L ? q0 + T : L; // later keys come after every query of this tile" : "const long long kEnd = L;");
            try (var loop = src.block("for (long long j0 = 0; j0 < kEnd; j0 += T)")) {
                src.line("__syncthreads(); // the previous tile's Ks, Vs, Ps are consumed");
                stage(src, "Ks", "Kp", "j0", "L", "D", t, ct);
                stage(src, "Vs", "Vp", "j0", "L", "DV", t, ct);
                src.line("__syncthreads();");
                try (var sc = src.block("for (int e = tid; e < T * T; e += " + THREADS + ")")) {
                    src.line("const int i = e / T, j = e % T;");
                    src.line("const long long qi = q0 + i, kj = j0 + j;");
                    src.line("%s sc = %s;", ct, ninf);
                    try (var in = src.block("if (qi < S && kj < L)")) {
                        src.line("%s dot = 0;", ct);
                        src.line("for (int x = 0; x < D; x++) dot = fma%s(Qs[i][x], Ks[j][x], dot);", f);
                        src.line("sc = dot * %s;", literal(scale, t));
                        if (softcap > 0) src.line("sc = %s * tanh%s(sc / %s);", literal(softcap, t), f, literal(softcap, t));
                        if (at.hasInput(3)) mask(src, fb, at, b, hq, s, l, ninf);
                        if (causal) src.line("if (kj > qi) sc = %s;", ninf);
                    }
                    src.line("Ps[i][j] = sc;");
                }
                src.line("__syncthreads();");
                try (var row = src.block("if (tid < T)")) {
                    src.line("const %s mOld = rowM[tid];", ct);
                    src.line("%s mx = mOld, sum = 0, corr = 1;", ct);
                    src.line("for (int j = 0; j < T; j++) mx = fmax%s(mx, Ps[tid][j]);", f);
                    src.line("if (mx == %s) { for (int j = 0; j < T; j++) Ps[tid][j] = 0; } // nothing kept so far", ninf);
                    try (var els = src.block("else")) {
                        src.line("corr = exp%s(mOld - mx);", f);
                        src.line("for (int j = 0; j < T; j++) { const %s p = exp%s(Ps[tid][j] - mx); Ps[tid][j] = p; sum += p; }", ct, f);
                    }
                    src.line("rowL[tid] = rowL[tid] * corr + sum; rowM[tid] = mx; rowC[tid] = corr;");
                }
                src.line("__syncthreads();");
                src.line("#pragma unroll");
                try (var pv = src.block("for (int r = 0; r < " + acc + "; r++)")) {
                    src.line("const int e = tid + r * %d;", THREADS);
                    src.line("if (e >= T * DV) break;");
                    src.line("const int i = e / DV, x = e % DV;");
                    src.line("%s a = acc[r] * rowC[i];", ct);
                    src.line("for (int j = 0; j < T; j++) a = fma%s(Ps[i][j], Vs[j][x], a);", f);
                    src.line("acc[r] = a;");
                }
            }
            src.line("__syncthreads();");
            src.line("#pragma unroll");
            try (var out = src.block("for (int r = 0; r < " + acc + "; r++)")) {
                src.line("const int e = tid + r * %d;", THREADS);
                src.line("if (e >= T * DV) break;");
                src.line("const int i = e / DV, x = e % DV;");
                src.line("const long long qi = q0 + i;");
                src.line("if (qi >= S) continue;");
                src.line("const %s res = rowL[i] == 0 ? (%s)0 : acc[r] / rowL[i]; // a fully masked row is zeros", ct, ct);
                src.line("const long long idx = ((b * %dLL + h) * S + qi) * DV + x;", hq);
                fb.emitEpilogue(src, "res", "idx");
            }
        }
        return List.of(new KernelSpec(entry, src.toString(), entry, grid, KernelSpec.Dim3.of(THREADS), 0, fb.params(), fb.origins()));
    }

    /** Copies rows [r0, r0+T) of a [rows, cols] matrix into shared memory, zeros past the end. */
    private static void stage(CudaSource src, String dst, String from, String r0, String rows, String cols, DType t, String ct) {
        try (var l = src.block("for (int e = tid; e < T * " + cols + "; e += " + THREADS + ")")) {
            src.line("const int i = e / %s, x = e %% %s;", cols, cols);
            src.line("%s[i][x] = %s + i < %s ? (%s)%s : (%s)0;", dst, r0, rows, ct, CTypes.load(t, from + "[(" + r0 + " + i) * " + cols + " + x]"), ct);
        }
    }

    /** Adds the attention mask (bool: keep where true; float: additive) broadcast from its shape to [B,Hq,S,L]. */
    private static void mask(CudaSource src, FusedBody fb, Node at, long b, long hq, long s, long l, String ninf) {
        long[] m = at.input(3).shape().sizes();
        if (m.length < 2 || m.length > 4) throw at.error(new UnsupportedException("attn_mask must have rank 2 to 4, got " + at.input(3).shape()));
        long[] full = {b, hq, s, l};
        long[] shape = new long[4];
        for (int a = 0; a < 4; a++) shape[a] = a < 4 - m.length ? 1 : m[a - (4 - m.length)];
        for (int a = 0; a < 3; a++)
            if (shape[a] != 1 && shape[a] != full[a]) throw at.error(new UnsupportedException("attn_mask " + at.input(3).shape() + " does not broadcast to [B,Hq,S,L]"));
        if (shape[3] > l) throw at.error(new UnsupportedException("attn_mask is longer than the key sequence"));
        long[] st = Index.strides(shape);
        String[] coord = {"b", "h", "qi", "kj"};
        StringBuilder idx = new StringBuilder();
        for (int a = 0; a < 4; a++) {
            if (shape[a] == 1 && a < 3) continue;
            if (!idx.isEmpty()) idx.append(" + ");
            idx.append(coord[a]).append(st[a] == 1 ? "" : " * " + st[a] + "LL");
        }
        String el = fb.in(at.input(3)) + "[" + (idx.isEmpty() ? "0" : idx) + "]";
        if (shape[3] < l) src.line("if (kj >= %dLL) sc = %s; else", shape[3], ninf);
        if (at.input(3).dtype().isBool()) src.line("%sif (%s == 0) sc = %s;", shape[3] < l ? "  " : "", el, ninf);
        else src.line("%ssc += %s;", shape[3] < l ? "  " : "", CTypes.load(at.input(3).dtype(), el));
    }

    private static String literal(double v, DType t) {
        return t == DType.F64 ? "(" + v + ")" : ExprEmitter.floatLiteral(v);
    }
}
