package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.CudaSource;
import dev.kiln.codegen.ExprEmitter;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.ir.DType;
import dev.kiln.ir.UnsupportedException;

/**
 * The exact SIMT attention kernel: f32 and f64 (computed in double), and f16/bf16 head sizes the tensor-core
 * kernel does not take. One block of 128 threads per (query tile of T rows, h, b). Shared memory holds the Q
 * tile, the current K and V tiles of T keys (converted to the compute type) and the T x T scores; registers
 * hold the output accumulator; an online softmax keeps each row's running max and sum in shared memory. The
 * K/V loop is synchronous: stage a tile, scores, row softmax, P V, each step behind a barrier. T is the
 * largest of 32, 16, 8 whose tiles fit 48 KB of static shared memory. Causal blocks stop at their last
 * query's key. A row with every key masked yields zeros.
 */
final class AttentionSimt {
    private AttentionSimt() {}

    static final int THREADS = 128;
    static final int SHARED_LIMIT = 48 * 1024;

    /** The query/key tile size for head sizes d, dv and an element of {@code bytes}; 0 if none fits. */
    static int tile(long d, long dv, int bytes) {
        for (int t : new int[] {32, 16, 8})
            if (sharedBytes(t, d, dv, bytes) <= SHARED_LIMIT) return t;
        return 0;
    }

    static long sharedBytes(int t, long d, long dv, int bytes) {
        return ((long) t * (d + 1) * 2 + (long) t * dv + (long) t * (t + 1) + 3L * t) * bytes;
    }

    static KernelSpec emit(FusedBody fb, AttentionProblem p, String entry) {
        DType t = p.dtype();
        String ct = t == DType.F64 ? "double" : "float";
        int bytes = t == DType.F64 ? 8 : 4;
        int tt = tile(p.d(), p.dv(), bytes);
        if (tt == 0) throw p.node().error(new UnsupportedException("Attention head size " + p.d() + "/" + p.dv() + " is too large for the tiled kernel"));
        KernelSpec.Dim3 grid;
        try {
            grid = KernelSpec.Dim3.of(Index.ceilDiv(p.s(), tt), p.hq(), p.b());
        } catch (IllegalArgumentException e) {
            throw p.node().error(new UnsupportedException("Attention grid out of range (B " + p.b() + ", H " + p.hq() + ")"));
        }
        String f = t == DType.F64 ? "" : "f"; // math function suffix
        String ninf = "__int_as_float(0xff800000)"; // NVRTC has no math.h INFINITY
        int acc = (int) Index.ceilDiv(tt * p.dv(), THREADS);
        long d = p.d(), dv = p.dv();
        CudaSource src = new CudaSource();
        fb.header(src, AttentionTemplate.describe(fb, p) + ", exact SIMT kernel, tile " + tt);
        src.line("");
        try (var kb = src.block(fb.signature(entry, THREADS))) {
            src.line("const int T = %d; const long long S = %d, L = %d, D = %d, DV = %d;", tt, p.s(), p.l(), d, dv);
            src.line("__shared__ %s Qs[%d][%d + 1], Ks[%d][%d + 1], Vs[%d][%d], Ps[%d][%d + 1];", ct, tt, d, tt, d, tt, dv, tt, tt);
            src.line("__shared__ %s rowM[%d], rowL[%d], rowC[%d];", ct, tt, tt, tt);
            src.line("const int tid = threadIdx.x;");
            src.line("const long long q0 = (long long)blockIdx.x * T, h = blockIdx.y, b = blockIdx.z, kvh = h / %dLL;", p.group());
            String st = CTypes.storage(t);
            src.line("const %s* Qp = %s + (%s);", st, p.q().name(), AttentionProblem.base(p.q(), "b", "h"));
            src.line("const %s* Kp = %s + (%s);", st, p.k().name(), AttentionProblem.base(p.k(), "b", "kvh"));
            src.line("const %s* Vp = %s + (%s);", st, p.v().name(), AttentionProblem.base(p.v(), "b", "kvh"));
            if (p.mask() != null) p.maskBase(src, "b", "h");
            stage(src, "Qs", "Qp", "q0", "S", "D", p.q(), t, ct);
            src.line("if (tid < T) { rowM[tid] = %s; rowL[tid] = 0; }", ninf);
            src.line("%s acc[%d];", ct, acc);
            src.line("#pragma unroll");
            src.line("for (int r = 0; r < %d; r++) acc[r] = 0;", acc);
            src.line(p.causal() ? "const long long kEnd = q0 + T < L ? q0 + T : L; // later keys come after every query of this tile" : "const long long kEnd = L;");
            try (var loop = src.block("for (long long j0 = 0; j0 < kEnd; j0 += T)")) {
                src.line("__syncthreads(); // the previous tile's Ks, Vs, Ps are consumed");
                stage(src, "Ks", "Kp", "j0", "L", "D", p.k(), t, ct);
                stage(src, "Vs", "Vp", "j0", "L", "DV", p.v(), t, ct);
                src.line("__syncthreads();");
                try (var sc = src.block("for (int e = tid; e < T * T; e += " + THREADS + ")")) {
                    src.line("const int i = e / T, j = e % T;");
                    src.line("const long long qi = q0 + i, kj = j0 + j;");
                    src.line("%s sc = %s;", ct, ninf);
                    try (var in = src.block("if (qi < S && kj < L)")) {
                        src.line("%s dot = 0;", ct);
                        src.line("for (int x = 0; x < D; x++) dot = fma%s(Qs[i][x], Ks[j][x], dot);", f);
                        src.line("sc = dot * %s;", literal(p.scale(), t));
                        if (p.softcap() > 0) src.line("sc = %s * tanh%s(sc / %s);", literal(p.softcap(), t), f, literal(p.softcap(), t));
                        if (p.mask() != null) p.applyMask(src, "sc", "qi", "kj", "mbase", "", ninf);
                        if (p.causal()) src.line("if (kj > qi) sc = %s;", ninf);
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
                src.line("const long long idx = ((b * %dLL + h) * S + qi) * DV + x;", p.hq());
                fb.emitEpilogue(src, "res", "idx");
            }
        }
        return new KernelSpec(entry, src.toString(), entry, grid, KernelSpec.Dim3.of(THREADS), 0, fb.params(), fb.origins());
    }

    /** Copies rows [r0, r0+T) of a [rows, cols] operand view into shared memory, zeros past the end. */
    private static void stage(CudaSource src, String dst, String from, String r0, String rows, String cols,
                              FusedBody.Operand o, DType t, String ct) {
        long rs = AttentionProblem.rowStride(o), cs = AttentionProblem.colStride(o);
        String at = "(" + r0 + " + i)" + (rs == 1 ? "" : " * " + Index.ll(rs)) + " + x" + (cs == 1 ? "" : " * " + Index.ll(cs));
        try (var l = src.block("for (int e = tid; e < T * " + cols + "; e += " + THREADS + ")")) {
            src.line("const int i = e / %s, x = e %% %s;", cols, cols);
            src.line("%s[i][x] = %s + i < %s ? (%s)%s : (%s)0;", dst, r0, rows, ct, CTypes.load(t, from + "[" + at + "]"), ct);
        }
    }

    static String literal(double v, DType t) {
        return t == DType.F64 ? "(" + v + ")" : ExprEmitter.floatLiteral(v);
    }
}
