package dev.kiln.codegen.kernels.gemm;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.CudaSource;

/**
 * The skinny path ({@link GemmConfig.Path#SKINNY}): a split-K GEMV for {@code m <= 16} rows against an
 * n-contiguous B (a [K,N] weight), streaming B once at memory bandwidth. No shared-memory pipeline: each
 * thread owns CW adjacent columns (one 16-byte load of B per k row; 8 or 4 bytes when m is large enough that
 * m x CW accumulators would not fit) and one of KL k lanes, and issues U = bk/KL independent loads before
 * using them, so U x threads loads are in flight per block. A's rows (at most 16 values per k) are read
 * directly (broadcast within a warp, cached). Accumulators {@code acc[m][CW]} live in registers; the KL k
 * lanes are summed through shared memory ({@code [KL][m][CW][CG]} floats, so the stores do not conflict),
 * leaving each thread a few finished outputs for the split-K reduction and the epilogue. Grid: (column
 * blocks of bn, k splits, batch). B loads are vector loads when B is {@link GemmOperand#vectorizable}
 * with CW, else per-element loads that are correct for any strides.
 */
final class SkinnyKernel {
    private SkinnyKernel() {}

    static GemmKernels.Launch emit(CudaSource src, GemmProblem p, GemmConfig c, GemmOutput out, String entry) {
        String t = CTypes.storage(p.math().dtype), acc = p.math().acc(), fma = acc.equals("double") ? "fma" : "fmaf";
        int threads = c.threads(), cw = c.skinnyColumnsPerThread(p), cg = c.bn() / cw, kl = threads / cg, u = c.bk() / kl;
        int m = (int) Math.max(1, p.m()), splits = c.splits(p);
        long per = c.kTilesPerSplit(p), tilesN = c.tilesN(p);
        int outs = m * c.bn(), regs = (outs + threads - 1) / threads;
        boolean vector = p.b().vectorizable(cw);
        int vecBytes = cw * p.math().elemBytes();
        String vt = switch (vecBytes) { case 16 -> "uint4"; case 8 -> "uint2"; case 4 -> "unsigned"; default -> "unsigned short"; };
        String zero = CTypes.store(p.math().dtype, "0.0f");
        try (var k = src.block(out.signature(entry, threads + ", 1", TileEpilogue.params(p, splits)))) {
            src.line("KILN_DYNAMIC_SMEM(smem);");
            TileEpilogue.declare(src, splits, c.dataSharedBytes(p));
            src.line("%s* red = reinterpret_cast<%s*>(smem); // [KL][m][CW][CG]", acc, acc);
            src.line("const int cg = threadIdx.x %% %d, kl = threadIdx.x / %d;", cg, cg);
            src.line("const long long col0 = (long long)blockIdx.x * %d, col = col0 + cg * %d;", c.bn(), cw);
            src.line("const long long kb = (long long)blockIdx.y * %dLL, ke = min(%dLL, kb + %dLL);", per * c.bk(), p.k(), per * c.bk());
            try (var batch = TileEpilogue.batchScope(src, p)) {
                src.line("const %s* A = %s + %s;", t, p.a().pointer(), p.a().batchOffset("bz"));
                src.line("const %s* B = %s + %s;", t, p.b().pointer(), p.b().batchOffset("bz"));
                src.line("%s acc[%d][%d];", acc, m, cw);
                src.line("#pragma unroll");
                src.line("for (int i = 0; i < %d; i++) for (int j = 0; j < %d; j++) acc[i][j] = 0;", m, cw);
                try (var kloop = src.block("for (long long k = kb + kl; k < ke; k += " + (kl * u) + ")")) {
                    src.line("__align__(16) %s bv[%d][%d];", t, u, cw);
                    src.line("#pragma unroll");
                    try (var l = src.block("for (int u = 0; u < " + u + "; u++)")) {
                        src.line("const long long kk = k + u * %d;", kl);
                        if (vector) {
                            src.line("if (kk < ke && col < %dLL) *reinterpret_cast<%s*>(bv[u]) = __ldg(reinterpret_cast<const %s*>(B + %s + %s));",
                                    p.n(), vt, vt, p.b().mnOffset("col"), p.b().kOffset("kk"));
                            src.line("else for (int j = 0; j < %d; j++) bv[u][j] = %s;", cw, zero);
                        } else {
                            src.line("#pragma unroll");
                            src.line("for (int j = 0; j < %d; j++) bv[u][j] = kk < ke && col + j < %dLL ? B[%s + %s] : %s;",
                                    cw, p.n(), p.b().mnOffset("col + j"), p.b().kOffset("kk"), zero);
                        }
                    }
                    src.line("#pragma unroll");
                    try (var l = src.block("for (int u = 0; u < " + u + "; u++)")) {
                        src.line("const long long kk = k + u * %d;", kl);
                        src.line("if (kk >= ke) break;");
                        src.line("#pragma unroll");
                        try (var r = src.block("for (int i = 0; i < " + m + "; i++)")) {
                            src.line("const %s a = %s;", acc, CTypes.load(p.math().dtype, "A[" + p.a().mnOffset("i") + " + " + p.a().kOffset("kk") + "]"));
                            src.line("#pragma unroll");
                            src.line("for (int j = 0; j < %d; j++) acc[i][j] = %s(a, %s, acc[i][j]);", cw, fma, CTypes.load(p.math().dtype, "bv[u][j]"));
                        }
                    }
                }
                src.line("#pragma unroll");
                src.line("for (int i = 0; i < %d; i++) for (int j = 0; j < %d; j++) red[((kl * %d + i) * %d + j) * %d + cg] = acc[i][j];", m, cw, m, cw, cg);
                src.line("__syncthreads();");
                src.line("%s kv[%d];", acc, regs);
                src.line("#pragma unroll");
                try (var r = src.block("for (int r = 0; r < " + regs + "; r++)")) {
                    src.line("const int o = threadIdx.x + r * %d, i = o / %d, cc = o %% %d;", threads, c.bn(), c.bn());
                    src.line("kv[r] = 0;");
                    src.line("if (o < %d) for (int q = 0; q < %d; q++) kv[r] += red[((q * %d + i) * %d + cc %% %d) * %d + cc / %d];", outs, kl, m, cw, cw, cg, cw);
                }
                src.line("__syncthreads(); // red is reused by the next batch entry");
                TileEpilogue.emit(src, p, c, fragment(regs, threads, c.bn(), acc), out);
            }
        }
        return GemmKernels.launch(p, c, tilesN, splits);
    }

    /** Thread t holds outputs o = t + threads r of the block's [m][bn] tile. */
    private static Fragment fragment(int regs, int threads, int bn, String acc) {
        return new Fragment() {
            @Override public int registers() { return regs; }

            @Override public void forEach(CudaSource src, Runnable body) {
                src.line("#pragma unroll");
                try (var r = src.block("for (int r = 0; r < " + regs + "; r++)")) {
                    src.line("const int e_r = r, o = threadIdx.x + r * %d;", threads);
                    src.line("const long long e_row = o / %d, e_col = col0 + o %% %d;", bn, bn);
                    src.line("%s& e_v = kv[r];", acc);
                    body.run();
                }
            }
        };
    }
}
