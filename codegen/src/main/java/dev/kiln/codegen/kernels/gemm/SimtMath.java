package dev.kiln.codegen.kernels.gemm;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.CudaSource;

/**
 * CUDA-core stage math ({@link GemmConfig.Path#SIMT}): exact fp32 FFMA (fp64 DFMA; f16/bf16 computed in
 * fp32 where there are no tensor cores). The threads form a {@code TY x TX} grid; thread (ty, tx) owns the
 * {@code TM x TN} outputs at rows {@code ty + TY i} and columns {@code tx + TX j} in registers, so a warp's
 * shared reads of A are broadcasts and of an MN-major B consecutive, and its stores are coalesced. Per k of
 * the stage: TM + TN shared loads, TM x TN fused multiply-adds.
 */
final class SimtMath implements TiledKernel.StageMath {
    private final GemmProblem p;
    private final GemmConfig c;
    private final int tm, tn, tx, ty;
    private final String acc;

    SimtMath(GemmProblem p, GemmConfig c) {
        this.p = p;
        this.c = c;
        tm = c.simtTm();
        tn = c.bm() * c.bn() / c.threads() / tm;
        tx = c.bn() / tn;
        ty = c.bm() / tm;
        acc = p.math().acc();
    }

    @Override public void prelude(CudaSource src) {
        src.line("const int tx = threadIdx.x %% %d, ty = threadIdx.x / %d;", tx, tx);
    }

    @Override public void declareAcc(CudaSource src) {
        src.line("%s acc[%d][%d];", acc, tm, tn);
        src.line("#pragma unroll");
        src.line("for (int i = 0; i < %d; i++) for (int j = 0; j < %d; j++) acc[i][j] = 0;", tm, tn);
    }

    @Override public void compute(CudaSource src, String as, String bs) {
        SmemTile ta = c.tileA(p), tb = c.tileB(p);
        String t = CTypes.storage(p.math().dtype), fma = acc.equals("double") ? "fma" : "fmaf";
        src.line("const %s* as = %s;", t, as);
        src.line("const %s* bs = %s;", t, bs);
        src.line("#pragma unroll");
        try (var k = src.block("for (int kk = 0; kk < " + c.bk() + "; kk++)")) {
            src.line("%s a[%d], b[%d];", acc, tm, tn);
            src.line("#pragma unroll");
            src.line("for (int i = 0; i < %d; i++) a[i] = %s;", tm, CTypes.load(p.math().dtype, "as[" + ta.at("ty + " + ty + " * i", "kk") + "]"));
            src.line("#pragma unroll");
            src.line("for (int j = 0; j < %d; j++) b[j] = %s;", tn, CTypes.load(p.math().dtype, "bs[" + tb.at("tx + " + tx + " * j", "kk") + "]"));
            src.line("#pragma unroll");
            src.line("for (int i = 0; i < %d; i++) for (int j = 0; j < %d; j++) acc[i][j] = %s(a[i], b[j], acc[i][j]);", tm, tn, fma);
        }
    }

    @Override public Fragment fragment() {
        return new Fragment() {
            @Override public int registers() { return tm * tn; }

            @Override public void forEach(CudaSource src, Runnable body) {
                src.line("#pragma unroll");
                try (var i = src.block("for (int i = 0; i < " + tm + "; i++)")) {
                    src.line("#pragma unroll");
                    try (var j = src.block("for (int j = 0; j < " + tn + "; j++)")) {
                        src.line("const int e_r = i * %d + j;", tn);
                        src.line("const long long e_row = row0 + ty + %d * i, e_col = col0 + tx + %d * j;", ty, tx);
                        src.line("%s& e_v = acc[i][j];", acc);
                        body.run();
                    }
                }
            }
        };
    }
}
