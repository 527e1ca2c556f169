package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.CudaSource;
import dev.kiln.codegen.ExprEmitter;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.ir.DType;
import dev.kiln.ir.UnsupportedException;

/**
 * The exact SIMT attention kernel: f32 and f64 (computed in double), and f16/bf16 head sizes the tensor-core
 * kernel does not take. One block of 4 warps per (query tile of {@code 4 R} rows, h, b); warp w owns query rows
 * {@code 4w R..}, all its lanes working on each of them, so a row's max and sum are warp shuffles and no
 * barrier sits between the scores, the softmax and P V.
 *
 * <p>Per key tile of {@code KT} keys (staged with the query tile in static shared memory, converted to the
 * compute type; K rows padded by one element so lanes reading one k column of 32 keys hit 32 banks): lane l
 * computes the scores of keys {@code l, l + 32..} against the warp's R rows (a k step reads R broadcast Q
 * elements and {@code KT / 32} K elements for {@code R KT / 32} FMAs), then the online softmax per row (max
 * and sum by {@code __shfl_xor_sync}, the accumulators rescaled), then P V: each key's probabilities come
 * from the lane that holds them by {@code __shfl_sync}, and lane l accumulates value columns {@code l, l + 32..}
 * of the R rows. {@link #tile} picks R and KT: the largest whose tiles fit 48 KB (64 keys and 4 rows at
 * head size 64 in f32). Why not the earlier layout (a barrier between every phase, the softmax on one
 * thread per row): at GPT-2's 12 heads x 128 x 64 in f32 it took 81 us where the FMA peak needs 1.
 * Causal blocks stop at their last query's key. A row with every key masked yields zeros.
 */
final class AttentionSimt {
    private AttentionSimt() {}

    static final int THREADS = 128;
    static final int WARPS = THREADS / 32;
    static final int SHARED_LIMIT = 48 * 1024;

    /** Rows per warp and keys per tile, largest first: the first whose tiles fit {@link #SHARED_LIMIT} is used. */
    private static final int[][] TILES = {{4, 64}, {4, 32}, {2, 32}, {1, 32}, {1, 16}};

    /** {rows per warp, keys per tile} for head sizes d, dv and an element of {@code bytes}; null if none fits. */
    static int[] tile(long d, long dv, int bytes) {
        for (int[] t : TILES)
            if (sharedBytes(t[0], t[1], d, dv, bytes) <= SHARED_LIMIT) return t;
        return null;
    }

    /** Q [4R][D], K [KT][D + 1], V [KT][DV]. */
    static long sharedBytes(int rows, int keys, long d, long dv, int bytes) {
        return ((long) WARPS * rows * d + (long) keys * (d + 1) + (long) keys * dv) * bytes;
    }

    static KernelSpec emit(FusedBody fb, AttentionProblem p, String entry) {
        DType t = p.dtype();
        String ct = t == DType.F64 ? "double" : "float";
        int bytes = t == DType.F64 ? 8 : 4;
        int[] tile = tile(p.d(), p.dv(), bytes);
        if (tile == null) throw p.node().error(new UnsupportedException("Attention head size " + p.d() + "/" + p.dv() + " is too large for the tiled kernel"));
        int r = tile[0], kt = tile[1], qt = WARPS * r, ck = (kt + 31) / 32;
        long d = p.d(), dv = p.dv();
        int cv = (int) ((dv + 31) / 32);
        KernelSpec.Dim3 grid;
        try {
            grid = KernelSpec.Dim3.of(Index.ceilDiv(p.s(), qt), p.hq(), p.b());
        } catch (IllegalArgumentException e) {
            throw p.node().error(new UnsupportedException("Attention grid out of range (B " + p.b() + ", H " + p.hq() + ")"));
        }
        String f = t == DType.F64 ? "" : "f"; // math function suffix
        String ninf = "__int_as_float(0xff800000)"; // NVRTC has no math.h INFINITY
        CudaSource src = new CudaSource();
        fb.header(src, AttentionTemplate.describe(fb, p) + ", exact SIMT kernel, " + r + " rows per warp, " + kt + " keys per tile");
        src.line("");
        try (var kb = src.block(fb.signature(entry, THREADS))) {
            src.line("constexpr int R = %d, QT = %d, KT = %d, CK = %d, CV = %d; const long long S = %d, L = %d, D = %d, DV = %d;", r, qt, kt, ck, cv, p.s(), p.l(), d, dv);
            src.line("__shared__ %s Qs[QT][%d], Ks[KT][%d + 1], Vs[KT][%d];", ct, d, d, dv);
            src.line("const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;");
            src.line("const long long q0 = (long long)blockIdx.x * QT, h = blockIdx.y, b = blockIdx.z, kvh = h / %dLL;", p.group());
            String st = CTypes.storage(t);
            src.line("const %s* Qp = %s + (%s);", st, p.q().name(), AttentionProblem.base(p.q(), "b", "h"));
            src.line("const %s* Kp = %s + (%s);", st, p.k().name(), AttentionProblem.base(p.k(), "b", "kvh"));
            src.line("const %s* Vp = %s + (%s);", st, p.v().name(), AttentionProblem.base(p.v(), "b", "kvh"));
            if (p.mask() != null) p.maskBase(src, "b", "h");
            stage(src, "Qs", "Qp", "q0", "QT", "S", "D", p.q(), t, ct);
            src.line("%s m[R], l[R], o[R][CV], s[R][CK];", ct);
            src.line("#pragma unroll");
            src.line("for (int i = 0; i < R; i++) { m[i] = %s; l[i] = 0; for (int v = 0; v < CV; v++) o[i][v] = 0; }", ninf);
            src.line(p.causal() ? "const long long kEnd = q0 + QT < L ? q0 + QT : L; // later keys come after every query of this tile" : "const long long kEnd = L;");
            try (var loop = src.block("for (long long j0 = 0; j0 < kEnd; j0 += KT)")) {
                src.line("__syncthreads(); // every warp is done with the previous tile");
                stage(src, "Ks", "Kp", "j0", "KT", "L", "D", p.k(), t, ct);
                stage(src, "Vs", "Vp", "j0", "KT", "L", "DV", p.v(), t, ct);
                src.line("__syncthreads();");
                src.comment("scores: lane keys lane + 32 c against the warp's R rows");
                src.line("#pragma unroll");
                src.line("for (int i = 0; i < R; i++) for (int c = 0; c < CK; c++) s[i][c] = 0;");
                src.line("#pragma unroll 4");
                try (var x = src.block("for (int x = 0; x < D; x++)")) {
                    src.line("%s kx[CK];", ct);
                    src.line("#pragma unroll");
                    src.line("for (int c = 0; c < CK; c++) kx[c] = Ks[(lane + 32 * c) % KT][x];");
                    src.line("#pragma unroll");
                    src.line("for (int i = 0; i < R; i++) { const %s qv = Qs[warp * R + i][x]; for (int c = 0; c < CK; c++) s[i][c] = fma%s(qv, kx[c], s[i][c]); }", ct, f);
                }
                src.comment("online softmax per row: max and sum across the warp");
                src.line("#pragma unroll");
                try (var row = src.block("for (int i = 0; i < R; i++)")) {
                    src.line("const long long qi = q0 + warp * R + i;");
                    src.line("%s mx = %s;", ct, ninf);
                    src.line("#pragma unroll");
                    try (var c = src.block("for (int c = 0; c < CK; c++)")) {
                        src.line("const long long kj = j0 + lane + 32 * c;");
                        src.line("%s sc = %s;", ct, ninf);
                        try (var in = src.block("if (lane + 32 * c < KT && qi < S && kj < L)")) {
                            src.line("sc = s[i][c] * %s;", literal(p.scale(), t));
                            if (p.softcap() > 0) src.line("sc = %s * tanh%s(sc / %s);", literal(p.softcap(), t), f, literal(p.softcap(), t));
                            if (p.mask() != null) p.applyMask(src, "sc", "qi", "kj", "mbase", "", ninf);
                            if (p.causal()) src.line("if (kj > qi) sc = %s;", ninf);
                        }
                        src.line("s[i][c] = sc;");
                        src.line("mx = fmax%s(mx, sc);", f);
                    }
                    src.line("for (int w = 16; w > 0; w >>= 1) mx = fmax%s(mx, __shfl_xor_sync(0xffffffffu, mx, w));", f);
                    src.line("const %s mNew = fmax%s(m[i], mx);", ct, f);
                    src.line("%s sum = 0, corr = 1;", ct);
                    src.comment("with nothing kept so far (every key masked) p stays 0 and the sums do not move");
                    try (var kept = src.block("if (mNew != " + ninf + ")")) {
                        src.line("corr = exp%s(m[i] - mNew);", f);
                        src.line("#pragma unroll");
                        src.line("for (int c = 0; c < CK; c++) { s[i][c] = exp%s(s[i][c] - mNew); sum += s[i][c]; }", f);
                    }
                    src.line("else for (int c = 0; c < CK; c++) s[i][c] = 0;");
                    src.line("for (int w = 16; w > 0; w >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, w);");
                    src.line("l[i] = l[i] * corr + sum; m[i] = mNew;");
                    src.line("#pragma unroll");
                    src.line("for (int v = 0; v < CV; v++) o[i][v] *= corr;");
                }
                src.comment("P V: key c * 32 + k's probabilities from lane k, value columns lane + 32 v");
                src.line("#pragma unroll");
                try (var c = src.block("for (int c = 0; c < CK; c++)")) {
                    src.line("#pragma unroll 4");
                    try (var k = src.block("for (int k = 0; k < 32 && c * 32 + k < KT; k++)")) {
                        src.line("%s pk[R];", ct);
                        src.line("#pragma unroll");
                        src.line("for (int i = 0; i < R; i++) pk[i] = __shfl_sync(0xffffffffu, s[i][c], k);");
                        src.line("#pragma unroll");
                        try (var v = src.block("for (int v = 0; v < CV; v++)")) {
                            if (dv % 32 != 0) src.line("if (lane + 32 * v >= DV) break;");
                            src.line("const %s vv = Vs[c * 32 + k][lane + 32 * v];", ct);
                            src.line("#pragma unroll");
                            src.line("for (int i = 0; i < R; i++) o[i][v] = fma%s(pk[i], vv, o[i][v]);", f);
                        }
                    }
                }
            }
            src.line("#pragma unroll");
            try (var out = src.block("for (int i = 0; i < R; i++)")) {
                src.line("const long long qi = q0 + warp * R + i;");
                src.line("if (qi >= S) break;");
                src.line("#pragma unroll");
                try (var v = src.block("for (int v = 0; v < CV; v++)")) {
                    src.line("const long long x = lane + 32 * v;");
                    if (dv % 32 != 0) src.line("if (x >= DV) break;");
                    src.line("const %s res = l[i] == 0 ? (%s)0 : o[i][v] / l[i]; // a fully masked row is zeros", ct, ct);
                    src.line("const long long idx = ((b * %dLL + h) * S + qi) * DV + x;", p.hq());
                    fb.emitEpilogue(src, "res", "idx");
                }
            }
        }
        return new KernelSpec(entry, src.toString(), entry, grid, KernelSpec.Dim3.of(THREADS), 0, fb.params(), fb.origins());
    }

    /** Copies rows [r0, r0 + n) of a [rows, cols] operand view into shared memory, zeros past the end. */
    private static void stage(CudaSource src, String dst, String from, String r0, String n, String rows, String cols,
                              FusedBody.Operand o, DType t, String ct) {
        long rs = AttentionProblem.rowStride(o), cs = AttentionProblem.colStride(o);
        String at = "(" + r0 + " + i)" + (rs == 1 ? "" : " * " + Index.ll(rs)) + " + x" + (cs == 1 ? "" : " * " + Index.ll(cs));
        try (var l = src.block("for (int e = tid; e < " + n + " * " + cols + "; e += " + THREADS + ")")) {
            src.line("const int i = e / %s, x = e %% %s;", cols, cols);
            src.line("%s[i][x] = %s + i < %s ? (%s)%s : (%s)0;", dst, r0, rows, ct, CTypes.load(t, from + "[" + at + "]"), ct);
        }
    }

    static String literal(double v, DType t) {
        return t == DType.F64 ? "(" + v + ")" : ExprEmitter.floatLiteral(v);
    }
}
