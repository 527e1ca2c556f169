package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.CudaSource;
import dev.kiln.codegen.ExprEmitter;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.kernels.tile.TileOps;
import dev.kiln.ir.DType;
import dev.kiln.ir.UnsupportedException;

/**
 * FlashAttention-2 on tensor cores for f16/bf16 with head sizes D, Dv multiples of 16 up to 256. Grid
 * (ceil(S/BM), Hq, B); a block of W warps owns BM = 16*MT*W query rows of one head, each warp 16*MT rows
 * ({@link FlashConfig}).
 * <ul>
 * <li>Registers: each warp's Q fragments (or, for large tiles, Q stays in shared memory and is re-read with
 *     ldmatrix per key tile); the score tile S = Q K^T [16*MT x BN] as mma accumulators (fp32); the output
 *     O [16*MT x Dv] as fp32 accumulators; each row's running max and sum (fp32). P = softmax(S) is rounded
 *     to f16/bf16 in place and used directly as the A operand of O += P V: the m16n8k16 accumulator layout of
 *     two adjacent 8-key column tiles is the A fragment of one 16-key step, so P never touches shared
 *     memory.</li>
 * <li>Shared memory (dynamic): K [ST][BN][D+8] and V [ST][BN][Dv+8], ST = 2 or 3 stages; (+ Q [BM][D+8]). Rows are
 *     padded by 16 bytes so the 8 rows one ldmatrix reads fall in distinct banks. K [key][d] is the
 *     k-contiguous B operand of Q K^T (plain ldmatrix); V [key][dv] is read with ldmatrix.trans.</li>
 * <li>K/V loop: tile j+ST-1 is fetched with cp.async (zero-filled past L) into the stage tile j-1 used while
 *     tile j is computed (one commit group per tile, so wait_group ST-2 means tile j has landed); one barrier
 *     per tile orders both. Per tile: S = Q K^T on mma.sync, scale (in log2 units,
 *     for exp2), softcap, mask, causal and bounds (only on tiles that need them), row max across the quad
 *     of lanes that share a row (two xor shuffles), rescale O and the sum by exp2(old max - new max),
 *     P = exp2(S - max), O += P V. Causal: a block stops at its last query's key, a warp skips tiles
 *     entirely after its rows, and blocks run longest first. The sum is reduced across the quad once at
 *     the end and O divided by it; a row with every key masked (sum 0) gives zeros, as the reference.</li>
 * </ul>
 */
final class FlashAttention {
    private FlashAttention() {}

    static final String NINF = "__int_as_float(0xff800000)";
    static final double LOG2E = 1.4426950408889634;

    /** Whether this kernel takes the problem: f16/bf16, sm_80+, head sizes multiples of 16 in [16, 256]. */
    static boolean supports(AttentionProblem p, CodegenOptions o) {
        return (p.dtype() == DType.F16 || p.dtype() == DType.BF16) && arch(o) >= 80
                && p.d() % 16 == 0 && p.dv() % 16 == 0 && p.d() >= 16 && p.dv() >= 16 && p.d() <= 256 && p.dv() <= 256;
    }

    private static int arch(CodegenOptions o) {
        try {
            return Integer.parseInt(o.arch().replaceAll("[^0-9]", ""));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    static KernelSpec emit(FusedBody fb, AttentionProblem p, FlashConfig c, CodegenOptions o, String entry) {
        if (c.wgmma()) {
            if (!FlashWgmma.supports(p, o)) throw new IllegalArgumentException("flash config " + c + " needs sm_90 (wgmma), not " + o.arch());
            return FlashWgmma.emit(fb, p, c, entry);
        }
        if (!c.fits(p.d(), p.dv())) throw new IllegalArgumentException("flash config " + c + " does not fit head sizes " + p.d() + "/" + p.dv());
        KernelSpec.Dim3 grid;
        try {
            grid = KernelSpec.Dim3.of(Index.ceilDiv(p.s(), c.blockM()), p.hq(), p.b());
        } catch (IllegalArgumentException e) {
            throw p.node().error(new UnsupportedException("Attention grid out of range (B " + p.b() + ", H " + p.hq() + ")"));
        }
        boolean bf = p.dtype() == DType.BF16;
        String mma = bf ? "kiln_mma_bf16" : "kiln_mma_f16", pack = bf ? "kiln_pack_bf16" : "kiln_pack_f16";
        int mt = c.mTiles(), bn = c.blockN();
        long d = p.d(), dv = p.dv(), s = p.s(), l = p.l();
        // cp.async moves 16 bytes: 8 elements per row chunk, so rows must start 8-element aligned
        boolean fastQ = AttentionProblem.rowsAligned(p.q(), 8), pairedQ = AttentionProblem.rowsAligned(p.q(), 2);
        int qr = c.qSteps(d);
        boolean fastK = AttentionProblem.rowsAligned(p.k(), 8), fastV = AttentionProblem.rowsAligned(p.v(), 8);

        CudaSource src = new CudaSource();
        fb.header(src, AttentionTemplate.describe(fb, p) + ", flash attention on tensor cores, tile " + c
                + " (" + c.blockM() + " query rows, " + c.warps() + " warps, " + bn + " keys per K/V tile, Q in "
                + (c.qInRegs() ? "registers" : "shared memory" + (qr > 0 ? ", its first " + qr * 16 + " columns also in registers" : ""))
                + (c.lean() ? ", lean softmax" : c.vote() ? ", vote softmax" : "") + (c.deferLoads() ? ", next K/V tile loaded after the softmax" : "") + ")\n"
                + "registers: Q fragments" + (c.qInRegs() ? "" : qr > 0 ? " (columns past " + qr * 16 + " per key tile, from shared memory)" : " (per key tile, from shared memory)")
                + ", S = Q K^T and O accumulators (fp32), row max/sum; "
                + (c.lean() ? "P packed to 16 bits at the exponent is the A operand of P V; O rescaled only when a row max of the warp rose\n"
                        : c.vote() ? "P reuses S's registers as the A operand of P V; O rescaled only when a row max of the warp rose\n"
                        : "P reuses S's registers as the A operand of P V\n")
                + "shared memory: K [" + c.stages() + "][BN][D+8], V [" + c.stages() + "][BN][Dv+8], " + (c.stages() - 1)
                + " tile(s) ahead by cp.async" + (c.qInRegs() ? "" : ", Q [BM][D+8]"));
        for (String line : TileOps.PRELUDE.strip().split("\n")) src.line(line);
        helpers(src);
        src.line("");
        try (var kb = src.block(fb.signature(entry, c.threads()))) {
            src.line("constexpr int BM = %d, BN = %d, MT = %d, D = %d, DV = %d, KP = D + 8, VP = DV + 8, THREADS = %d, ST = %d;",
                    c.blockM(), bn, mt, d, dv, c.threads(), c.stages());
            src.line("constexpr int S = %d, L = %d;", s, l);
            src.line("KILN_DYNAMIC_SMEM(smem);");
            src.line("unsigned short* const Ks = reinterpret_cast<unsigned short*>(smem); // [ST][BN][KP]");
            src.line("unsigned short* const Vs = Ks + ST * BN * KP; // [ST][BN][VP]");
            if (!c.qInRegs()) src.line("unsigned short* const Qs = Vs + ST * BN * VP; // [BM][KP]");
            src.line("const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, lr = lane >> 2, lc = lane & 3; // lane row/column in mma fragments");
            src.line(p.causal() ? "const int qb = (int)(gridDim.x - 1 - blockIdx.x) * BM; // the longest causal blocks start first"
                    : "const int qb = (int)blockIdx.x * BM;");
            src.line("const long long h = blockIdx.y, b = blockIdx.z, kvh = h / %dLL;", p.group());
            src.line("const int q0 = qb + warp * 16 * MT; // this warp's first query row (rows and columns fit an int: shapes are int-sized)");
            operand(src, "Qp", p.q(), "h");
            operand(src, "Kp", p.k(), "kvh");
            operand(src, "Vp", p.v(), "kvh");
            if (p.mask() != null) p.maskBase(src, "b", "h");
            src.line(p.causal() ? "const int kEnd = qb + BM < L ? qb + BM : L; // later keys come after every query of this block"
                    : "const int kEnd = L;");
            src.line("const int nTiles = (kEnd + BN - 1) / BN;");
            if (qr > 0) loadQFragments(src, p, pairedQ, qr);
            src.line("float o[MT][DV / 8][4], mrow[MT][2], lrow[MT][2];");
            forMt(src, () -> {
                src.line("#pragma unroll");
                src.line("for (int r = 0; r < 2; r++) { mrow[mt][r] = %s; lrow[mt][r] = 0.f; }", NINF);
                src.line("#pragma unroll");
                src.line("for (int n = 0; n < DV / 8; n++) { o[mt][n][0] = 0.f; o[mt][n][1] = 0.f; o[mt][n][2] = 0.f; o[mt][n][3] = 0.f; }");
            });
            try (var pro = src.block("if (nTiles > 0)")) {
                tile(src, "BN", "D", "KP", "Ks", "Kp", p.k(), fastK, "L");
                tile(src, "BN", "DV", "VP", "Vs", "Vp", p.v(), fastV, "L");
                if (!c.qInRegs()) tile(src, "BM", "D", "KP", "Qs", "Qp + qb * " + Index.ll(AttentionProblem.rowStride(p.q())), p.q(), fastQ, "S - qb");
            }
            src.line("kiln_cp_async_commit();");
            for (int t = 1; t < c.stages() - 1; t++) {
                // one commit group per tile, empty past the last, so that wait_group counts tiles
                try (var pro = src.block("if (nTiles > " + t + ")")) {
                    String kn = t + "LL * BN";
                    tile(src, "BN", "D", "KP", "Ks + " + t + " * BN * KP", "Kp + " + kn + " * " + Index.ll(AttentionProblem.rowStride(p.k())), p.k(), fastK, "L - " + kn);
                    tile(src, "BN", "DV", "VP", "Vs + " + t + " * BN * VP", "Vp + " + kn + " * " + Index.ll(AttentionProblem.rowStride(p.v())), p.v(), fastV, "L - " + kn);
                }
                src.line("kiln_cp_async_commit();");
            }
            String ahead = String.valueOf(c.stages() - 1), stage = c.stages() == 2 ? "(j & 1)" : "(j % ST)";
            // the next tile's loads into the stage every warp finished with before this iteration's barrier
            Runnable issue = () -> {
                try (var next = src.block("if (j + " + ahead + " < nTiles)")) {
                    src.line("const long long kn = (long long)(j + %s) * BN;", ahead);
                    src.line(c.stages() == 2 ? "const int st = (j + 1) & 1;" : "const int st = (j + ST - 1) % ST;");
                    tile(src, "BN", "D", "KP", "Ks + st * BN * KP", "Kp + kn * " + Index.ll(AttentionProblem.rowStride(p.k())), p.k(), fastK, "L - kn");
                    tile(src, "BN", "DV", "VP", "Vs + st * BN * VP", "Vp + kn * " + Index.ll(AttentionProblem.rowStride(p.v())), p.v(), fastV, "L - kn");
                }
                src.line("kiln_cp_async_commit();");
            };
            String skip = p.causal() ? "q0 >= S || k0 > q0 + 16 * MT - 1" : "q0 >= S";
            // deferred loads: the parts of the skip test that can hold (rows past S only in a ragged last block; keys
            // after every row of the warp only in the causal diagonal tiles)
            java.util.function.Function<Boolean, String> liveIf = masked -> {
                java.util.List<String> parts = new java.util.ArrayList<>();
                if (s % c.blockM() != 0) parts.add("q0 >= S");
                if (p.causal() && masked) parts.add("k0 > q0 + 16 * MT - 1");
                return parts.isEmpty() ? null : String.join(" || ", parts);
            };
            String scale = rawScores(p) ? ExprEmitter.floatLiteral(p.scale() * LOG2E) : null;
            java.util.function.Consumer<Boolean> body = masked -> {
                src.line("kiln_cp_async_wait<ST - 2>();");
                src.line("__syncthreads(); // tile j is in shared memory for every warp, and every warp is done with tile j - 1");
                if (!c.deferLoads()) issue.run();
                src.line("const int k0 = j * BN;");
                String why = p.causal() ? " // no rows, or every key of the tile follows them" : " // this warp has no query rows";
                Runnable kv = () -> {
                    src.line("const unsigned short* const Kt = Ks + %s * BN * KP;", stage);
                    src.line("const unsigned short* const Vt = Vs + %s * BN * VP;", stage);
                };
                Runnable sm = () -> {
                    scores(src, c, mma);
                    scaleAndMask(src, p, c, masked);
                    if (c.lean()) leanSoftmax(src, scale, pack, !c.deferLoads());
                    else if (c.vote()) leanSoftmax(src, scale, null, false);
                    else softmax(src, scale);
                };
                if (!c.deferLoads()) {
                    src.line("if (" + skip + ") continue;" + why);
                    kv.run();
                    src.line("float sc[MT][BN / 8][4];");
                    sm.run();
                    pv(src, mma, c.lean() ? null : pack);
                } else {
                    // the warp skips its compute, not its share of the loads: one issue site, so that ptxas keeps
                    // no load addresses live across the scores for a second copy in a skip branch
                    kv.run();
                    String live = liveIf.apply(masked);
                    if (live != null) src.line("const bool live = !(%s);%s", live, why.replace("//", "// if not:"));
                    src.line("float sc[MT][BN / 8][4];");
                    if (c.lean()) src.line("unsigned pk[MT][BN / 16][4];");
                    try (var on = src.block(live != null ? "if (live)" : "")) { sm.run(); }
                    issue.run();
                    try (var on = src.block(live != null ? "if (live)" : "")) { pv(src, mma, c.lean() ? null : pack); }
                }
            };
            if (!c.deferLoads()) {
                try (var loop = src.block("for (int j = 0; j < nTiles; j++)")) { body.accept(true); }
            } else {
                // tiles no query of the block masks first, without the mask code; then the diagonal and ragged tiles
                String clear = p.mask() != null ? "0" : p.causal() ? "(qb + 1) / BN" : "L / BN";
                if (p.causal() && p.mask() == null) clear = "min(" + clear + ", L / BN)";
                src.line("const int nClear = min(nTiles, %s); // tiles where no key is masked for any query of the block", clear);
                src.line("int j = 0;");
                try (var loop = src.block("for (; j < nClear; j++)")) { body.accept(false); }
                try (var loop = src.block("for (; j < nTiles; j++)")) { body.accept(true); }
            }
            src.line("kiln_cp_async_wait<0>();");
            store(src, fb, p);
        }
        return new KernelSpec(entry, src.toString(), entry, grid, KernelSpec.Dim3.of(c.threads()), (int) c.sharedBytes(d, dv),
                fb.params(), fb.origins());
    }

    /** File-scope helpers: exp2 on the SFU, and the two tile loaders (cp.async, and element-wise for odd strides). */
    private static void helpers(CudaSource src) {
        src.line("#ifdef KILN_SIM");
        src.line("__device__ __forceinline__ float kiln_exp2(float x) { return exp2f(x); }");
        src.line("#else");
        src.line("__device__ __forceinline__ float kiln_exp2(float x) { float y; asm(\"ex2.approx.ftz.f32 %0, %1;\" : \"=f\"(y) : \"f\"(x)); return y; }");
        src.line("#endif");
        src.line("// rows [0, valid) of a ROWS x COLS tile of 16-bit elements (row stride rs) into shared memory at PITCH, zeros below;");
        src.line("// each thread keeps one 16-byte column chunk and steps down the rows, so every address is a constant offset");
        src.line("template <int ROWS, int COLS, int PITCH, int THREADS>");
        try (var f = src.block("__device__ __forceinline__ void kiln_attn_tile(unsigned short* dst, const unsigned short* src, long long rs, long long valid, int tid)")) {
            src.line("constexpr int CH = COLS / 8;");
            try (var even = src.block("if constexpr (THREADS % CH == 0)")) {
                src.line("constexpr int STEP = THREADS / CH, IT = (ROWS + STEP - 1) / STEP;");
                src.line("const int r0 = tid / CH, x = tid % CH * 8;");
                src.line("unsigned short* const d = dst + r0 * PITCH + x;");
                src.line("const unsigned short* const s = src + r0 * rs + x;");
                src.line("#pragma unroll");
                try (var i = src.block("for (int i = 0; i < IT; i++)")) {
                    src.line("const int r = r0 + i * STEP;");
                    src.line("if (ROWS % STEP != 0 && r >= ROWS) break;");
                    src.line("kiln_cp_async16(d + i * STEP * PITCH, r < valid ? s + i * STEP * rs : src, r < valid);");
                }
            }
            try (var odd = src.block("else")) {
                src.line("constexpr int N = ROWS * CH, IT = (N + THREADS - 1) / THREADS;");
                src.line("#pragma unroll");
                try (var i = src.block("for (int i = 0; i < IT; i++)")) {
                    src.line("const int c = tid + i * THREADS;");
                    src.line("if (N % THREADS != 0 && c >= N) break;");
                    src.line("const int r = c / CH, x = c % CH * 8;");
                    src.line("kiln_cp_async16(dst + r * PITCH + x, src + (r < valid ? r * rs + x : 0), r < valid);");
                }
            }
        }
        src.line("template <int ROWS, int COLS, int PITCH, int THREADS>");
        try (var f = src.block("__device__ __forceinline__ void kiln_attn_tile_strided(unsigned short* dst, const unsigned short* src, long long rs, long long cs, long long valid, int tid)")) {
            try (var i = src.block("for (int c = tid; c < ROWS * COLS; c += THREADS)")) {
                src.line("const int r = c / COLS, x = c % COLS;");
                src.line("dst[r * PITCH + x] = r < valid ? src[r * rs + x * cs] : (unsigned short)0;");
            }
        }
    }

    private static void operand(CudaSource src, String name, FusedBody.Operand o, String head) {
        src.line("const unsigned short* const %s = reinterpret_cast<const unsigned short*>(%s) + (%s);", name, o.name(),
                AttentionProblem.base(o, "b", head));
    }

    private static void tile(CudaSource src, String rows, String cols, String pitch, String dst, String from,
                             FusedBody.Operand o, boolean fast, String valid) {
        long rs = AttentionProblem.rowStride(o);
        if (fast) src.line("kiln_attn_tile<%s, %s, %s, THREADS>(%s, %s, %s, %s, tid);", rows, cols, pitch, dst, from, Index.ll(rs), valid);
        else src.line("kiln_attn_tile_strided<%s, %s, %s, THREADS>(%s, %s, %s, %s, %s, tid);", rows, cols, pitch, dst, from,
                Index.ll(rs), Index.ll(AttentionProblem.colStride(o)), valid);
    }

    /** Q fragments straight from global memory: two adjacent columns per register, zeros past S. */
    private static void loadQFragments(CudaSource src, AttentionProblem p, boolean aligned, int steps) {
        long rs = AttentionProblem.rowStride(p.q()), cs = AttentionProblem.colStride(p.q());
        src.line("constexpr int QR = %d; // d-steps of Q kept in registers", steps);
        src.line("unsigned qf[MT][QR][4];");
        forMt(src, () -> {
            src.line("#pragma unroll");
            try (var kk = src.block("for (int kk = 0; kk < QR; kk++)")) {
                src.line("#pragma unroll");
                try (var r = src.block("for (int r = 0; r < 4; r++)")) {
                    src.line("const int row = q0 + mt * 16 + lr + (r & 1) * 8;");
                    src.line("const long long at = row * %s + (kk * 16 + lc * 2 + (r >> 1) * 8) * %s;", Index.ll(rs), Index.ll(cs));
                    src.line(aligned ? "qf[mt][kk][r] = row < S ? *reinterpret_cast<const unsigned*>(Qp + at) : 0u;"
                            : "qf[mt][kk][r] = row < S ? (unsigned)Qp[at] | (unsigned)Qp[at + " + Index.ll(cs) + "] << 16 : 0u;");
                }
            }
        });
    }

    /** S = Q K^T for this warp's rows and the BN keys of the tile. */
    private static void scores(CudaSource src, FlashConfig c, String mma) {
        forMt(src, () -> {
            src.line("#pragma unroll");
            src.line("for (int n = 0; n < BN / 8; n++) { sc[mt][n][0] = 0.f; sc[mt][n][1] = 0.f; sc[mt][n][2] = 0.f; sc[mt][n][3] = 0.f; }");
        });
        src.line("#pragma unroll");
        try (var kk = src.block("for (int kk = 0; kk < D / 16; kk++)")) {
            if (!c.qInRegs()) {
                src.line("unsigned qa[MT][4];");
                String ld = "kiln_ldmatrix_x4(qa[mt], Qs + (warp * 16 * MT + mt * 16 + (lane & 15)) * KP + kk * 16 + (lane >> 4) * 8);";
                if (c.qKept() == 0) forMt(src, () -> src.line(ld));
                else forMt(src, () -> {
                    // kk is a constant after unrolling: the kept steps are register moves, the rest ldmatrix
                    src.line("if (kk < QR) { const int k = kk < QR ? kk : 0; qa[mt][0] = qf[mt][k][0]; qa[mt][1] = qf[mt][k][1]; qa[mt][2] = qf[mt][k][2]; qa[mt][3] = qf[mt][k][3]; }");
                    src.line("else %s", ld);
                });
            }
            String a = c.qInRegs() ? "qf[mt][kk]" : "qa[mt]";
            src.line("#pragma unroll");
            try (var nn = src.block("for (int nn = 0; nn < BN / 16; nn++)")) {
                src.line("unsigned kb[4]; // keys nn*16 + 0..7 and 8..15, each for d kk*16 + 0..7 and 8..15");
                src.line("kiln_ldmatrix_x4(kb, Kt + (nn * 16 + (lane & 7) + (lane >> 4) * 8) * KP + kk * 16 + ((lane >> 3) & 1) * 8);");
                src.line("const unsigned b0[2] = {kb[0], kb[1]}, b1[2] = {kb[2], kb[3]};");
                forMt(src, () -> src.line("%s(sc[mt][2 * nn], %s, b0); %s(sc[mt][2 * nn + 1], %s, b1);", mma, a, mma, a));
            }
        }
    }

    /**
     * Whether the scores can stay unscaled until the exponent: with a positive scale and no softcap or
     * additive mask, masking (-inf) and the row max commute with scaling, so exp2(s * c - max * c) is one FMA.
     */
    static boolean rawScores(AttentionProblem p) {
        return p.scale() > 0 && p.softcap() <= 0 && (p.mask() == null || p.mask().dtype().isBool());
    }

    /** Scores to log2 units (scale, softcap) unless {@link #rawScores}, then masks where a tile needs them: key bounds, causal, attn_mask. */
    private static void scaleAndMask(CudaSource src, AttentionProblem p, FlashConfig c, boolean masked) {
        if (!rawScores(p)) forAll(src, "BN / 8", () -> {
            if (p.softcap() > 0) src.line("sc[mt][n][e] = %s * tanhf(sc[mt][n][e] * %s);",
                    ExprEmitter.floatLiteral(p.softcap() * LOG2E), ExprEmitter.floatLiteral(p.scale() / p.softcap()));
            else src.line("sc[mt][n][e] *= %s;", ExprEmitter.floatLiteral(p.scale() * LOG2E));
        });
        java.util.List<String> edge = new java.util.ArrayList<>();
        if (!masked) return;
        if (p.mask() != null) edge.add("true");
        else {
            if (p.l() % c.blockN() != 0) edge.add("k0 + BN > L");
            if (p.causal()) edge.add("k0 + BN - 1 > q0");
        }
        if (edge.isEmpty()) return;
        try (var e = src.block("if (" + String.join(" || ", edge) + ")")) {
            if (c.deferLoads() && p.mask() == null) {
                // col - row from one lane value and constants (fewer registers than row and col per element); the key
                // bound only where a tile can pass L
                if (p.causal()) src.line("const int diag = k0 - q0 + lc * 2 - lr; // col - row at mt = n = e = 0");
                forAll(src, "BN / 8", () -> {
                    java.util.List<String> out = new java.util.ArrayList<>();
                    if (p.l() % c.blockN() != 0) out.add("k0 + n * 8 + lc * 2 + (e & 1) >= L");
                    if (p.causal()) out.add("diag + n * 8 + (e & 1) - mt * 16 - (e >> 1) * 8 > 0");
                    src.line("if (%s) sc[mt][n][e] = %s;", String.join(" || ", out), NINF);
                });
                return;
            }
            forAll(src, "BN / 8", () -> {
                src.line("const int row = q0 + mt * 16 + lr + (e >> 1) * 8, col = k0 + n * 8 + lc * 2 + (e & 1);");
                src.line("float& x = sc[mt][n][e];");
                String out = "col >= L" + (p.causal() ? " || col > row" : "") + (p.mask() != null ? " || row >= S" : "");
                if (p.mask() == null) src.line("if (%s) x = %s;", out, NINF);
                else {
                    src.line("if (%s) x = %s;", out, NINF);
                    try (var els = src.block("else")) {
                        p.applyMask(src, "x", "row", "col", "mbase", ExprEmitter.floatLiteral(LOG2E), NINF);
                    }
                }
            });
        }
    }

    /** {@code mx}: the running max of row r of m-tile mt, raised by this tile's scores and shared across the quad. */
    private static void rowMax(CudaSource src) {
        src.line("float mx = mrow[mt][r];");
        src.line("#pragma unroll");
        src.line("for (int n = 0; n < BN / 8; n++) mx = fmaxf(mx, fmaxf(sc[mt][n][2 * r], sc[mt][n][2 * r + 1]));");
        src.line("mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));");
        src.line("mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));");
    }

    /**
     * Online softmax: new row max over the tile and the quad, rescale O and the running sum, P = exp2(S - max).
     * {@code scale}: the log2-unit scale still to apply to raw scores (and to the max, kept raw), or null.
     */
    private static void softmax(CudaSource src, String scale) {
        String mul = scale == null ? "" : " * " + scale;
        forMt(src, () -> {
            src.line("#pragma unroll");
            try (var r = src.block("for (int r = 0; r < 2; r++)")) {
                rowMax(src);
                src.line("const float mu = mx == %s ? 0.f : mx; // nothing kept yet: every p and the correction are 0", NINF);
                src.line("const float corr = kiln_exp2((mrow[mt][r] - mu)%s);", mul);
                src.line("mrow[mt][r] = mx;");
                if (scale != null) src.line("const float ms = mu%s;", mul);
                src.line("float sum = 0.f;");
                src.line("#pragma unroll");
                try (var n = src.block("for (int n = 0; n < BN / 8; n++)")) {
                    for (String e : new String[] {"2 * r", "2 * r + 1"})
                        src.line(scale == null ? "sc[mt][n][%1$s] = kiln_exp2(sc[mt][n][%1$s] - mu);"
                                : "sc[mt][n][%1$s] = kiln_exp2(fmaf(sc[mt][n][%1$s], %2$s, -ms));", e, scale);
                    src.line("sum += sc[mt][n][2 * r] + sc[mt][n][2 * r + 1];");
                }
                src.line("lrow[mt][r] = lrow[mt][r] * corr + sum;");
                src.line("#pragma unroll");
                src.line("for (int n = 0; n < DV / 8; n++) { o[mt][n][2 * r] *= corr; o[mt][n][2 * r + 1] *= corr; }");
            }
        });
    }

    /**
     * {@link #softmax} with P packed to 16-bit pairs as it is computed ({@code pk[MT][BN/16][4]}, already the A
     * fragments of P V: key column tile n lands in fragment n/2, registers (n&1)*2 + r) and the O rescale
     * behind a warp vote: a row whose max did not rise has correction exactly 1, so when no row of the warp
     * rose the 4*MT*Dv/8 multiplies are skipped, with the same result.
     */
    private static void leanSoftmax(CudaSource src, String scale, String pack, boolean declare) {
        String mul = scale == null ? "" : " * " + scale;
        if (declare) src.line("unsigned pk[MT][BN / 16][4];");
        src.line("float corr[MT][2];");
        src.line("bool moved = false;");
        forMt(src, () -> {
            src.line("#pragma unroll");
            try (var r = src.block("for (int r = 0; r < 2; r++)")) {
                rowMax(src);
                src.line("const float mu = mx == %s ? 0.f : mx; // nothing kept yet: every p is 0", NINF);
                src.line("const bool up = mx > mrow[mt][r];");
                src.line("corr[mt][r] = up ? kiln_exp2((mrow[mt][r] - mu)%s) : 1.f;", mul);
                src.line("moved |= up;");
                src.line("mrow[mt][r] = mx;");
                if (scale != null) src.line("const float ms = mu%s;", mul);
                src.line("float sum = 0.f;");
                src.line("#pragma unroll");
                try (var n = src.block("for (int n = 0; n < BN / 8; n++)")) {
                    for (int e = 0; e < 2; e++)
                        src.line(scale == null ? "const float p%1$d = kiln_exp2(sc[mt][n][2 * r + %1$d] - mu);"
                                : "const float p%1$d = kiln_exp2(fmaf(sc[mt][n][2 * r + %1$d], %2$s, -ms));", e, scale);
                    src.line("sum += p0 + p1;");
                    if (pack != null) src.line("pk[mt][n >> 1][(n & 1) * 2 + r] = %s(p0, p1);", pack);
                    else src.line("sc[mt][n][2 * r] = p0; sc[mt][n][2 * r + 1] = p1;");
                }
                src.line("lrow[mt][r] = lrow[mt][r] * corr[mt][r] + sum;");
            }
        });
        src.line("// a warp-uniform branch: every lane sees the same vote");
        try (var rescale = src.block("if (__any_sync(0xffffffffu, moved))")) {
            forMt(src, () -> {
                src.line("#pragma unroll");
                src.line("for (int n = 0; n < DV / 8; n++) { o[mt][n][0] *= corr[mt][0]; o[mt][n][1] *= corr[mt][0]; o[mt][n][2] *= corr[mt][1]; o[mt][n][3] *= corr[mt][1]; }");
            });
        }
    }

    /**
     * O += P V, P packed from the S accumulators of key columns 16kk..16kk+15 (two n-tiles = one A fragment),
     * or ({@code pack} null) already packed by {@link #leanSoftmax}.
     */
    private static void pv(CudaSource src, String mma, String pack) {
        src.line("#pragma unroll");
        try (var kk = src.block("for (int kk = 0; kk < BN / 16; kk++)")) {
            if (pack != null) {
                src.line("unsigned pa[MT][4];");
                forMt(src, () -> {
                    src.line("pa[mt][0] = %s(sc[mt][2 * kk][0], sc[mt][2 * kk][1]); pa[mt][1] = %s(sc[mt][2 * kk][2], sc[mt][2 * kk][3]);", pack, pack);
                    src.line("pa[mt][2] = %s(sc[mt][2 * kk + 1][0], sc[mt][2 * kk + 1][1]); pa[mt][3] = %s(sc[mt][2 * kk + 1][2], sc[mt][2 * kk + 1][3]);", pack, pack);
                });
            }
            String pa = pack != null ? "pa[mt]" : "pk[mt][kk]";
            src.line("#pragma unroll");
            try (var nd = src.block("for (int nd = 0; nd < DV / 16; nd++)")) {
                src.line("unsigned vb[4]; // keys kk*16 + 0..7 and 8..15, each for dv nd*16 + 0..7 and 8..15");
                src.line("kiln_ldmatrix_x4_trans(vb, Vt + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * VP + nd * 16 + (lane >> 4) * 8);");
                src.line("const unsigned b0[2] = {vb[0], vb[1]}, b1[2] = {vb[2], vb[3]};");
                forMt(src, () -> src.line("%s(o[mt][2 * nd], %s, b0); %s(o[mt][2 * nd + 1], %s, b1);", mma, pa, mma, pa));
            }
        }
    }

    /** Sum across the quad, O / sum (0 for a row with nothing kept), the epilogue, the store. */
    private static void store(CudaSource src, FusedBody fb, AttentionProblem p) {
        src.line("float linv[MT][2];");
        forMt(src, () -> {
            src.line("#pragma unroll");
            try (var r = src.block("for (int r = 0; r < 2; r++)")) {
                src.line("float ls = lrow[mt][r];");
                src.line("ls += __shfl_xor_sync(0xffffffffu, ls, 1);");
                src.line("ls += __shfl_xor_sync(0xffffffffu, ls, 2);");
                src.line("linv[mt][r] = ls == 0.f ? 0.f : 1.f / ls; // a fully masked row is zeros");
            }
        });
        forAll(src, "DV / 8", () -> {
            src.line("const int row = q0 + mt * 16 + lr + (e >> 1) * 8;");
            try (var in = src.block("if (row < S)")) {
                src.line("const float res = o[mt][n][e] * linv[mt][e >> 1];");
                src.line("const long long idx = ((b * %dLL + h) * S + row) * DV + n * 8 + lc * 2 + (e & 1);", p.hq());
                fb.emitEpilogue(src, "res", "idx");
            }
        });
    }

    private static void forMt(CudaSource src, Runnable body) {
        src.line("#pragma unroll");
        try (var m = src.block("for (int mt = 0; mt < MT; mt++)")) { body.run(); }
    }

    /** Every accumulator element (mt, n < tiles, e < 4). */
    private static void forAll(CudaSource src, String tiles, Runnable body) {
        forMt(src, () -> {
            src.line("#pragma unroll");
            try (var n = src.block("for (int n = 0; n < " + tiles + "; n++)")) {
                src.line("#pragma unroll");
                try (var e = src.block("for (int e = 0; e < 4; e++)")) { body.run(); }
            }
        });
    }
}
