package dev.kiln.codegen.kernels.gemm;

import dev.kiln.codegen.CudaSource;

/**
 * Tensor-core stage math ({@link GemmConfig.Path#MMA}). Warp (wm, wn) of the {@code warpsM x warpsN} grid owns
 * a {@code TM x TN} sub-tile (TM = bm/warpsM, TN = bn/warpsN) as MI x NI mma tiles of 16x8, i.e.
 * {@code float acc[MI][NI][4]} in registers. Per 16-wide k slice of the stage (8-wide for TF32) it loads A
 * fragments (MI x 4 regs) and B fragments (NI x 2 regs) from shared memory and issues MI x NI mma.sync.
 * f16/bf16 fragments come from {@code ldmatrix.x4}: plain for a K-major tile, {@code .trans} for an
 * MN-major one (so an n-contiguous weight [K,N] and a k-contiguous K^T are both read without a transpose).
 * TF32 fragments are single 32-bit shared loads rounded by {@code cvt.rna.tf32}; the padded layouts keep both
 * conflict-free. With sliced-K ({@code warpsK > 1}) the warps form {@code warpsK} such grids; grid {@code ks}
 * runs k {@code [ks bk/warpsK, (ks+1) bk/warpsK)} of every stage ({@link TiledKernel} sums the grids' tiles).
 */
final class MmaMath implements TiledKernel.StageMath {
    private final GemmProblem p;
    private final GemmConfig c;
    private final int tm, tn, mi, ni;

    MmaMath(GemmProblem p, GemmConfig c) {
        this.p = p;
        this.c = c;
        tm = c.bm() / c.warpsM();
        tn = c.bn() / c.warpsN();
        mi = tm / 16;
        ni = tn / 8;
    }

    @Override public void prelude(CudaSource src) {
        if (c.warpsK() == 1) {
            src.line("const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;");
        } else {
            int grid = c.warpsM() * c.warpsN(), slice = c.bk() / c.warpsK();
            src.line("const int lane = threadIdx.x & 31, ks = (threadIdx.x >> 5) / %d, warp = (threadIdx.x >> 5) %% %d;", grid, grid);
            // this k slice's first element inside a stage of A and of B
            src.line("const int kiln_ka = %s, kiln_kb = %s;", c.tileA(p).at("0", "ks * " + slice), c.tileB(p).at("0", "ks * " + slice));
        }
        src.line("const int wm = (warp / %d) * %d, wn = (warp %% %d) * %d;", c.warpsN(), tm, c.warpsN(), tn);
    }

    @Override public String slice() { return c.warpsK() == 1 ? "0" : "ks"; }

    @Override public void declareAcc(CudaSource src) {
        src.line("float acc[%d][%d][4];", mi, ni);
        src.line("#pragma unroll");
        src.line("for (int i = 0; i < %d; i++) for (int j = 0; j < %d; j++) for (int h = 0; h < 4; h++) acc[i][j][h] = 0.f;", mi, ni);
    }

    @Override public void compute(CudaSource src, String as, String bs) {
        SmemTile ta = c.tileA(p), tb = c.tileB(p);
        boolean tf32 = p.math() == GemmMath.TF32;
        int step = p.math().mmaK;
        String t = dev.kiln.codegen.CTypes.storage(p.math().dtype);
        boolean sliced = c.warpsK() > 1;
        src.line("const %s* as = %s%s;", t, as, sliced ? " + kiln_ka" : "");
        src.line("const %s* bs = %s%s;", t, bs, sliced ? " + kiln_kb" : "");
        src.line("#pragma unroll");
        try (var k = src.block("for (int kk = 0; kk < " + c.bk() / c.warpsK() + "; kk += " + step + ")")) {
            src.line("unsigned af[%d][4], bf[%d][2];", mi, ni);
            if (tf32) tf32Fragments(src, ta, tb);
            else ldmatrixFragments(src, ta, tb);
            src.line("#pragma unroll");
            try (var i = src.block("for (int i = 0; i < " + mi + "; i++)")) {
                src.line("#pragma unroll");
                src.line("for (int j = 0; j < %d; j++) kiln_mma_%s(acc[i][j], af[i], bf[j]);", ni, p.math().name().toLowerCase());
            }
        }
    }

    /** ldmatrix lane addresses: lane l supplies row l%8 of 8x8 matrix l/8 (see TileOps' fragment layouts). */
    private void ldmatrixFragments(CudaSource src, SmemTile ta, SmemTile tb) {
        boolean aK = ta.major() == GemmOperand.Major.K, bK = tb.major() == GemmOperand.Major.K;
        // A matrices 0..3 = (rows 0-7, k 0-7), (rows 8-15, k 0-7), (rows 0-7, k 8-15), (rows 8-15, k 8-15)
        String aAt = aK ? ta.at("wm + i * 16 + (lane & 15)", "kk + (lane >> 4) * 8")
                : ta.at("wm + i * 16 + ((lane >> 3) & 1) * 8", "kk + (lane & 7) + (lane >> 4) * 8");
        src.line("#pragma unroll");
        src.line("for (int i = 0; i < %d; i++) kiln_ldmatrix_x4%s(af[i], as + %s);", mi, aK ? "" : "_trans", aAt);
        // B matrices 0..3 = (k 0-7, cols j), (k 8-15, cols j), (k 0-7, cols j+1), (k 8-15, cols j+1)
        String bAt = bK ? tb.at("wn + j * 8 + (lane & 7) + (lane >> 4) * 8", "kk + ((lane >> 3) & 1) * 8")
                : tb.at("wn + j * 8 + (lane >> 4) * 8", "kk + (lane & 7) + ((lane >> 3) & 1) * 8");
        src.line("#pragma unroll");
        try (var j = src.block("for (int j = 0; j < " + ni + "; j += 2)")) {
            src.line("unsigned q[4];");
            src.line("kiln_ldmatrix_x4%s(q, bs + %s);", bK ? "" : "_trans", bAt);
            src.line("bf[j][0] = q[0]; bf[j][1] = q[1]; bf[j + 1][0] = q[2]; bf[j + 1][1] = q[3];");
        }
    }

    /** m16n8k8 TF32: a = A[g][t], A[g+8][t], A[g][t+4], A[g+8][t+4]; b = B[t][g], B[t+4][g]. */
    private void tf32Fragments(CudaSource src, SmemTile ta, SmemTile tb) {
        src.line("const int g = lane >> 2, t4 = lane & 3;");
        src.line("#pragma unroll");
        try (var i = src.block("for (int i = 0; i < " + mi + "; i++)")) {
            src.line("const int r = wm + i * 16 + g;");
            src.line("af[i][0] = kiln_tf32(as[%s]); af[i][1] = kiln_tf32(as[%s]);", ta.at("r", "kk + t4"), ta.at("r + 8", "kk + t4"));
            src.line("af[i][2] = kiln_tf32(as[%s]); af[i][3] = kiln_tf32(as[%s]);", ta.at("r", "kk + t4 + 4"), ta.at("r + 8", "kk + t4 + 4"));
        }
        src.line("#pragma unroll");
        try (var j = src.block("for (int j = 0; j < " + ni + "; j++)")) {
            src.line("const int n = wn + j * 8 + g;");
            src.line("bf[j][0] = kiln_tf32(bs[%s]); bf[j][1] = kiln_tf32(bs[%s]);", tb.at("n", "kk + t4"), tb.at("n", "kk + t4 + 4"));
        }
    }

    @Override public Fragment fragment() {
        return new Fragment() {
            @Override public int registers() { return mi * ni * 4; }

            @Override public void forEach(CudaSource src, Runnable body) {
                src.line("#pragma unroll");
                try (var i = src.block("for (int i = 0; i < " + mi + "; i++)")) {
                    src.line("#pragma unroll");
                    try (var j = src.block("for (int j = 0; j < " + ni + "; j++)")) {
                        src.line("#pragma unroll");
                        try (var h = src.block("for (int h = 0; h < 4; h++)")) {
                            src.line("const int e_r = (i * %d + j) * 4 + h;", ni);
                            src.line("const long long e_row = row0 + wm + i * 16 + (lane >> 2) + (h >> 1) * 8;");
                            src.line("const long long e_col = col0 + wn + j * 8 + (lane & 3) * 2 + (h & 1);");
                            src.line("float& e_v = acc[i][j][h];");
                            body.run();
                        }
                    }
                }
            }
        };
    }
}
