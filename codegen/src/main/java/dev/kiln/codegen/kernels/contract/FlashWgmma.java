package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.CudaSource;
import dev.kiln.codegen.ExprEmitter;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.kernels.tile.TileOps;
import dev.kiln.codegen.kernels.tile.WgmmaOps;
import dev.kiln.ir.DType;
import dev.kiln.ir.UnsupportedException;

/**
 * FlashAttention on Hopper's warpgroup MMA ({@link FlashConfig#wgmma}, sm_90a), in the manner of FlashAttention-3
 * but without its producer warpgroup: the tensor-core math is the GEMM engine's ({@link WgmmaOps}: descriptors,
 * 128-byte-swizzled tiles, the accumulator layout) so matmul, conv and attention share one core. Grid
 * (ceil(S/BM), Hq, B); a block of W/4 warpgroups owns BM = 64 W/4 query rows of one head, 64 per warpgroup.
 * <ul>
 * <li>Per key tile of BN: S = Q K^T as D/16 wgmma m64nBNk16 with Q and K both from shared memory (K-major:
 *     [key][d] rows are the B operand's k-contiguous rows), fp32 accumulators (BN/2 registers); the online
 *     softmax on that fragment (each row's 2t, 2t+1 columns of every 8 live in the 4 lanes of a quad: two xor
 *     shuffles for the row max; exp2 with the scale folded into one FMA); P rounded to 16 bits straight into
 *     registers in the m16n8k16 A layout (BN/4 registers), which is what wgmma takes as A from registers: O +=
 *     P V as BN/16 wgmma m64nDVk16 with V from shared memory, MN-major ([key][dv] rows, imm-trans-b 1). O stays
 *     in DV/2 fp32 registers; the rescale by exp2(old max - new max) only when a row of the warpgroup's
 *     threads raised its max (a lane vote; on long rows the max settles after a few tiles).</li>
 * <li>Shared memory, 1024-aligned for the swizzle: Q [D/64][BM][64], K [ST][D/64][BN][64], V [ST][DV/64][BN][64]
 *     (elements; 64 two-byte elements = one 128-byte swizzle row, 16-byte chunk c of row r stored at chunk
 *     c ^ (r % 8)): the GEMM's K-major layout for Q and K (SBO 1024, a 16-wide d step moves 32 bytes, a 64-wide
 *     one to the next column block), its MN-major layout for V (LBO = BN x 128 bytes to the next 64 dv, SBO
 *     1024 to the next 8 keys; a 16-key step moves 2048 bytes).</li>
 * <li>Loads by cp.async from every thread, K/V in ST = 2 or 3 stages (4, two tiles ahead: see {@link #pipelined}):
 *     tile j+1 is issued right after the barrier that shows tile j landed (each thread fenced the async proxy first, since wgmma reads through it) and
 *     every warpgroup is done with the tile whose stage it refills. Two stages: that is tile j-1, so each tile's
 *     P V is waited for before the next barrier. Three stages ({@code p3}): it is tile j-2, so P V of tile j-1
 *     stays in flight across the barrier and is retired by the wait for tile j's scores (the tensor cores run
 *     P V(j-1) and Q K^T(j) back to back while the warps cross the barrier). Why cp.async and not a TMA producer:
 *     it needs no tensor maps from the runtime (being wired separately) and runs on the CPU simulator; the
 *     loads of tile j+1 overlap tile j's math either way. Edges are zero-filled (rows past S, keys past L),
 *     so any S and L work.</li>
 * <li>Causal: blocks run longest first, a block stops at its last query's key tile, a warpgroup skips the
 *     tiles entirely after its rows (but keeps loading its share), and only tiles that cross the diagonal
 *     (or the end of the keys, or any tile under an attn_mask) run the masking code.</li>
 * </ul>
 */
final class FlashWgmma {
    private FlashWgmma() {}

    /** Registers beyond S, O and P per thread: row state, descriptors, pointers, loop state (a guess until ptxas -v says). */
    static final int OVERHEAD_REGS = 40;

    /** sm_90 only: wgmma is a Hopper feature (compiled for sm_90a). */
    static boolean supports(AttentionProblem p, CodegenOptions o) {
        return FlashAttention.supports(p, o) && o.arch().replaceAll("[^0-9]", "").equals("90");
    }

    static boolean fits(FlashConfig c, long d, long dv) {
        return d % 64 == 0 && dv % 64 == 0 && d <= 256 && dv <= 256 && c.blockN() <= 256 && (c.warps() == 4 || c.warps() == 8)
                && registers(c, d, dv) <= FlashConfig.MAX_REGS && sharedBytes(c, d, dv) <= FlashConfig.MAX_SHARED;
    }

    /** S (BN/2), O (DV/2) and packed P (BN/4) per thread, plus {@link #OVERHEAD_REGS}. */
    static int registers(FlashConfig c, long d, long dv) { return (int) (c.blockN() / 2 + dv / 2 + c.blockN() / 4 + OVERHEAD_REGS); }

    /** Q, the stages of K and V, and 1024 bytes to align the swizzle pattern. */
    static long sharedBytes(FlashConfig c, long d, long dv) { return 1024 + (long) c.blockM() * d * 2 + (long) c.stages() * c.blockN() * (d + dv) * 2; }

    static KernelSpec emit(FusedBody fb, AttentionProblem p, FlashConfig c, String entry) {
        if (!fits(c, p.d(), p.dv())) throw new IllegalArgumentException("flash config " + c + " does not fit head sizes " + p.d() + "/" + p.dv());
        KernelSpec.Dim3 grid;
        try {
            grid = KernelSpec.Dim3.of(Index.ceilDiv(p.s(), c.blockM()), p.hq(), p.b());
        } catch (IllegalArgumentException e) {
            throw p.node().error(new UnsupportedException("Attention grid out of range (B " + p.b() + ", H " + p.hq() + ")"));
        }
        String dt = p.dtype() == DType.BF16 ? "bf16" : "f16", pack = p.dtype() == DType.BF16 ? "kiln_pack_bf16" : "kiln_pack_f16";
        int bn = c.blockN();
        boolean three = c.stages() == 3;
        long d = p.d(), dv = p.dv();
        String mmaS = WgmmaOps.name(bn, dt, false, false), mmaO = WgmmaOps.nameRegA((int) dv, dt, true);

        CudaSource src = new CudaSource();
        fb.header(src, AttentionTemplate.describe(fb, p) + ", flash attention on wgmma, tile " + c + " (" + c.blockM() + " query rows, "
                + c.warps() / 4 + " warpgroup(s) of 64, " + bn + " keys per K/V tile)\n"
                + "registers: S = Q K^T [64 x BN] and O [64 x Dv] accumulators (fp32), P packed to 16 bits as wgmma's A operand, row max/sum\n"
                + "shared memory (128-byte swizzle): Q [D/64][BM][64], K [ST][D/64][BN][64], V [ST][Dv/64][BN][64], one tile ahead by cp.async"
                + (three ? "; P V of a tile in flight until the next tile's scores are waited for" : ""));
        src.line(WgmmaOps.ARCH_MARKER);
        for (String line : TileOps.PRELUDE.strip().split("\n")) src.line(line);
        for (String line : WgmmaOps.PRELUDE.strip().split("\n")) src.line(line);
        for (String line : WgmmaOps.mma(bn, dt, false, false).strip().split("\n")) src.line(line);
        for (String line : WgmmaOps.mmaRegA((int) dv, dt, true).strip().split("\n")) src.line(line);
        helpers(src);
        src.line("");
        try (var kb = src.block(fb.signature(entry, c.threads()))) {
            src.line("constexpr int BM = %d, BN = %d, D = %d, DV = %d, THREADS = %d, ST = %d;", c.blockM(), bn, d, dv, c.threads(), c.stages());
            src.line("constexpr int S = %d, L = %d;", p.s(), p.l());
            src.line("KILN_DYNAMIC_SMEM(smem);");
            src.line("unsigned char* const Qs = smem + ((1024u - (kiln_smem(smem) & 1023u)) & 1023u); // the swizzle repeats every 1024 bytes");
            src.line("unsigned char* const Ks = Qs + BM * D * 2; // [ST][D/64][BN][128 bytes]");
            src.line("unsigned char* const Vs = Ks + ST * BN * D * 2; // [ST][DV/64][BN][128 bytes]");
            // the warpgroup index through a shuffle from lane 0: ptxas then knows it (and every branch on q0) is warp-uniform;
            // otherwise it serializes the wgmmas issued under such a branch (C7520)
            src.line("const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, wg = __shfl_sync(0xffffffffu, tid >> 7, 0), lr = lane >> 2, lc = lane & 3;");
            src.line(p.causal() ? "const int qb = (int)(gridDim.x - 1 - blockIdx.x) * BM; // the longest causal blocks start first"
                    : "const int qb = (int)blockIdx.x * BM;");
            src.line("const long long h = blockIdx.y, b = blockIdx.z, kvh = h / %dLL;", p.group());
            src.line("const int q0 = qb + wg * 64, r0 = q0 + (warp & 3) * 16 + lr; // the warpgroup's first row; this thread's rows r0, r0 + 8");
            operand(src, "Qp", p.q(), "h");
            operand(src, "Kp", p.k(), "kvh");
            operand(src, "Vp", p.v(), "kvh");
            if (p.mask() != null) p.maskBase(src, "b", "h");
            src.line(p.causal() ? "const int kEnd = qb + BM < L ? qb + BM : L; // later keys come after every query of this block" : "const int kEnd = L;");
            src.line("const int nTiles = (kEnd + BN - 1) / BN;");
            String kStride = Index.ll(AttentionProblem.rowStride(p.k())), vStride = Index.ll(AttentionProblem.rowStride(p.v()));
            try (var pro = src.block("if (nTiles > 0)")) {
                tile(src, "BM", "D", "Qs", "Qp + qb * " + Index.ll(AttentionProblem.rowStride(p.q())), p.q(), "S - qb");
                tile(src, "BN", "D", "Ks", "Kp", p.k(), "L");
                tile(src, "BN", "DV", "Vs", "Vp", p.v(), "L");
            }
            src.line("kiln_cp_async_commit();");
            // descriptors of stage 0 and d (or key) step 0; steps and stages add byte offsets / 16 to the address field
            src.line("const unsigned long long dq = kiln_wgmma_desc(Qs + wg * 64 * 128, 16, 1024), dk = kiln_wgmma_desc(Ks, 16, 1024),"
                    + " dvd = kiln_wgmma_desc(Vs, BN * 128, 1024);");
            src.line("float o[DV / 2], mrow[2] = {%s, %s}, lrow[2] = {0.f, 0.f};", FlashAttention.NINF, FlashAttention.NINF);
            src.line("#pragma unroll");
            src.line("for (int i = 0; i < DV / 2; i++) o[i] = 0.f;");
            String scale = FlashAttention.rawScores(p) ? ExprEmitter.floatLiteral(p.scale() * FlashAttention.LOG2E) : null;
            if (c.stages() == 4) pipelined(src, p, c, mmaS, mmaO, scale, pack, kStride, vStride);
            else {
            src.line("#pragma unroll 1");
            try (var loop = src.block("for (int j = 0; j < nTiles; j++)")) {
                src.line("kiln_cp_async_wait<0>();");
                src.line("kiln_fence_proxy_async(); // this thread's landed copies, visible to wgmma's async proxy");
                src.line(three ? "__syncthreads(); // tile j is in shared memory, and every warpgroup's wgmmas on tile j - 2 are done"
                        : "__syncthreads(); // tile j is in shared memory, and every warpgroup's wgmmas on tile j - 1 are done");
                try (var next = src.block("if (j + 1 < nTiles)")) {
                    src.line("const long long kn = (long long)(j + 1) * BN;");
                    src.line(three ? "const int st = (j + 1) % 3;" : "const int st = (j + 1) & 1;");
                    tile(src, "BN", "D", "Ks + st * BN * D * 2", "Kp + kn * " + kStride, p.k(), "L - kn");
                    tile(src, "BN", "DV", "Vs + st * BN * DV * 2", "Vp + kn * " + vStride, p.v(), "L - kn");
                }
                src.line("kiln_cp_async_commit();");
                src.line(three ? "const int k0 = j * BN, st = j % 3;" : "const int k0 = j * BN, st = j & 1;");
                src.line(p.causal() ? "if (q0 >= S || k0 > q0 + 63) continue; // no rows, or every key of the tile follows them"
                        : "if (q0 >= S) continue; // this warpgroup has no query rows");
                src.line("float sc[BN / 2];");
                scores(src, c, d, mmaS, "sc", "st");
                src.line("kiln_wgmma_wait<0>(); // and the previous tile's P V, when it was left in flight");
                mask(src, p, c);
                softmax(src, scale, pack);
                rescale(src);
                pv(src, mmaO, "st");
                // two stages: V's stage is refilled after the next barrier, so P V must be done before it; three: the
                // next tile's score wait retires it, after the barrier, and the stage it reads is refilled a tile later
                if (!three) src.line("kiln_wgmma_wait<0>(); // P's registers and V's stage are free again");
            }
            if (three) src.line("kiln_wgmma_wait<0>();");
            }
            src.line("kiln_cp_async_wait<0>();");
            store(src, fb, p);
        }
        return new KernelSpec(entry, src.toString(), entry, grid, KernelSpec.Dim3.of(c.threads()), (int) sharedBytes(c, d, dv),
                fb.params(), fb.origins());
    }

    /**
     * The software-pipelined loop (four K/V stages, loads two tiles ahead), in FlashAttention-3's order: tile j's
     * softmax runs while the tensor cores do the previous tile's P V. Per tile j (a warpgroup's live tiles, nLive:
     * all, or up to its last causal key): barrier (tile j landed; every warpgroup has nothing in flight), issue tile
     * j+2's loads (into tile j-2's stage); issue S(j); rescale O by tile j-1's corrections and issue P V(j-1);
     * {@code wait_group 1} retires S(j); mask and softmax of tile j with P left in fp32 in {@code sc} (pk is still
     * read by P V(j-1)); {@code wait_group 0}; pack P(j). The last live tile's P V runs at the next tile (or after
     * the loop). Every wgmma is waited for within the branch that issued it: ptxas serializes the wgmmas when a
     * group is in flight across a join or the loop's back edge (C7514), which the tests check.
     */
    private static void pipelined(CudaSource src, AttentionProblem p, FlashConfig c, String mmaS, String mmaO, String scale, String pack,
                                  String kStride, String vStride) {
        long d = p.d();
        for (int t = 1; t <= 2; t++) {
            try (var pro = src.block("if (nTiles > " + t + ")")) {
                tile(src, "BN", "D", "Ks + " + t + " * BN * D * 2", "Kp + (long long)" + t + " * BN * " + kStride, p.k(), "L - " + t + " * BN");
                tile(src, "BN", "DV", "Vs + " + t + " * BN * DV * 2", "Vp + (long long)" + t + " * BN * " + vStride, p.v(), "L - " + t + " * BN");
            }
            src.line("kiln_cp_async_commit();");
            if (t == 1) {
                src.line("kiln_cp_async_wait<1>(); // Q and tile 0");
                src.line("kiln_fence_proxy_async();");
                src.line("__syncthreads();");
            }
        }
        src.line(p.causal() ? "const int nLive = q0 >= S ? 0 : min(nTiles, (q0 + 63) / BN + 1); // tiles with keys this warpgroup's rows see"
                : "const int nLive = q0 >= S ? 0 : nTiles;");
        src.line("float sc[BN / 2], corr[2] = {1.f, 1.f};");
        src.line("unsigned pk[BN / 16][4];");
        src.line("bool moved = false;");
        try (var first = src.block("if (nLive > 0)")) {
            src.line("const int k0 = 0;");
            scores(src, c, d, mmaS, "sc", "0");
            src.line("kiln_wgmma_wait<0>();");
            mask(src, p, c);
            softmax(src, scale, pack, true);
            packP(src, pack);
        }
        src.line("#pragma unroll 1");
        try (var loop = src.block("for (int j = 1; j < nTiles; j++)")) {
            src.line("kiln_cp_async_wait<1>(); // tile j");
            src.line("kiln_fence_proxy_async();");
            src.line("__syncthreads(); // tile j is in shared memory; no warpgroup has a wgmma in flight");
            try (var next = src.block("if (j + 2 < nTiles)")) {
                src.line("const long long kn = (long long)(j + 2) * BN;");
                src.line("const int st = (j + 2) & 3;");
                tile(src, "BN", "D", "Ks + st * BN * D * 2", "Kp + kn * " + kStride, p.k(), "L - kn");
                tile(src, "BN", "DV", "Vs + st * BN * DV * 2", "Vp + kn * " + vStride, p.v(), "L - kn");
            }
            src.line("kiln_cp_async_commit();");
            try (var live = src.block("if (j < nLive)")) {
                src.line("const int k0 = j * BN;");
                scores(src, c, d, mmaS, "sc", "j & 3");
                rescale(src);
                pv(src, mmaO, "(j - 1) & 3");
                src.line("kiln_wgmma_wait<1>(); // S(j)");
                mask(src, p, c);
                softmax(src, scale, pack, true);
                src.line("kiln_wgmma_wait<0>(); // P V(j - 1): pk is free");
                packP(src, pack);
            }
            try (var tail = src.block("else if (j == nLive)")) {
                rescale(src);
                pv(src, mmaO, "(j - 1) & 3");
                src.line("kiln_wgmma_wait<0>();");
            }
        }
        try (var tail = src.block("if (nLive == nTiles && nLive > 0)")) {
            rescale(src);
            pv(src, mmaO, "(nTiles - 1) & 3");
            src.line("kiln_wgmma_wait<0>();");
        }
    }

    /** exp2 on the SFU, and the swizzled tile loaders (cp.async, and element-wise for operands whose rows are not 16-byte chunks). */
    private static void helpers(CudaSource src) {
        src.line("#ifdef KILN_SIM");
        src.line("__device__ __forceinline__ float kiln_exp2(float x) { return exp2f(x); }");
        src.line("#else");
        src.line("__device__ __forceinline__ float kiln_exp2(float x) { float y; asm(\"ex2.approx.ftz.f32 %0, %1;\" : \"=f\"(y) : \"f\"(x)); return y; }");
        src.line("#endif");
        src.line("// rows [0, valid) of a ROWS x COLS tile of 16-bit elements (row stride rs) into column blocks of 64 with the 128-byte");
        src.line("// swizzle (chunk x of row r at block x / 8, chunk (x % 8) ^ (r % 8)), zeros below");
        src.line("template <int ROWS, int COLS, int THREADS>");
        try (var f = src.block("__device__ __forceinline__ void kiln_fa3_tile(unsigned char* dst, const unsigned short* src, long long rs, long long valid, int tid)")) {
            src.line("constexpr int CH = COLS / 8, N = ROWS * CH, IT = (N + THREADS - 1) / THREADS;");
            src.line("#pragma unroll");
            try (var i = src.block("for (int i = 0; i < IT; i++)")) {
                src.line("const int c = tid + i * THREADS;");
                src.line("if (N % THREADS != 0 && c >= N) break;");
                src.line("const int r = c / CH, x = c % CH;");
                src.line("kiln_cp_async16(dst + (x >> 3) * (ROWS * 128) + r * 128 + (((x & 7) ^ (r & 7)) << 4), src + (r < valid ? r * rs + x * 8 : 0), r < valid);");
            }
        }
        src.line("template <int ROWS, int COLS, int THREADS>");
        try (var f = src.block("__device__ __forceinline__ void kiln_fa3_tile_strided(unsigned char* dst, const unsigned short* src, long long rs, long long cs, long long valid, int tid)")) {
            try (var i = src.block("for (int c = tid; c < ROWS * COLS; c += THREADS)")) {
                src.line("const int r = c / COLS, x = c % COLS;");
                src.line("*reinterpret_cast<unsigned short*>(dst + (x >> 6) * (ROWS * 128) + r * 128 + ((((x >> 3) & 7) ^ (r & 7)) << 4) + (x & 7) * 2) =");
                src.line("    r < valid ? src[r * rs + x * cs] : (unsigned short)0;");
            }
        }
    }

    private static void operand(CudaSource src, String name, FusedBody.Operand o, String head) {
        src.line("const unsigned short* const %s = reinterpret_cast<const unsigned short*>(%s) + (%s);", name, o.name(),
                AttentionProblem.base(o, "b", head));
    }

    private static void tile(CudaSource src, String rows, String cols, String dst, String from, FusedBody.Operand o, String valid) {
        long rs = AttentionProblem.rowStride(o);
        if (AttentionProblem.rowsAligned(o, 8)) src.line("kiln_fa3_tile<%s, %s, THREADS>(%s, %s, %s, %s, tid);", rows, cols, dst, from, Index.ll(rs), valid);
        else src.line("kiln_fa3_tile_strided<%s, %s, THREADS>(%s, %s, %s, %s, %s, tid);", rows, cols, dst, from, Index.ll(rs),
                Index.ll(AttentionProblem.colStride(o)), valid);
    }

    /**
     * {@code acc} = Q K^T of the K tile in stage {@code stage}: D/16 wgmmas, d step kk at byte (kk / 4) x (rows x 128) +
     * (kk % 4) x 32 of Q's and K's column blocks; committed as one group.
     */
    private static void scores(CudaSource src, FlashConfig c, long d, String mma, String acc, String stage) {
        src.line("#pragma unroll");
        src.line("for (int i = 0; i < BN / 2; i++) %s[i] = 0.f;", acc);
        src.line("kiln_wgmma_fence();");
        try (var b = src.block("")) {
            src.line("const unsigned long long dkt = dk + (unsigned long long)((%s) * (BN * D * 2 >> 4));", stage);
            for (int kk = 0; kk < d / 16; kk++)
                src.line("%s(%s, dq + %dull, dkt + %dull);", mma, acc, ((kk / 4) * c.blockM() * 128L + (kk % 4) * 32) >> 4,
                        ((kk / 4) * c.blockN() * 128L + (kk % 4) * 32) >> 4);
        }
        src.line("kiln_wgmma_commit();");
    }

    /** O += P V for the V tile in stage {@code stage}: BN/16 wgmmas with P from registers, 2048 bytes (16 keys) apart; one group. */
    private static void pv(CudaSource src, String mma, String stage) {
        src.line("kiln_wgmma_fence();");
        try (var b = src.block("")) {
            src.line("const unsigned long long dvt = dvd + (unsigned long long)((%s) * (BN * DV * 2 >> 4));", stage);
            src.line("#pragma unroll");
            src.line("for (int kk = 0; kk < BN / 16; kk++) %s(o, pk[kk], dvt + (unsigned long long)(kk * (2048 >> 4)));", mma);
        }
        src.line("kiln_wgmma_commit();");
    }

    /**
     * Scores to log2 units unless {@link FlashAttention#rawScores}, then the masks where a tile needs them: keys past L,
     * causal (col > row), attn_mask. Element i of the fragment is row r0 + 8 ((i >> 1) & 1), column k0 + 8 (i >> 2) + 2 lc + (i & 1).
     */
    private static void mask(CudaSource src, AttentionProblem p, FlashConfig c) {
        if (!FlashAttention.rawScores(p)) {
            src.line("#pragma unroll");
            try (var i = src.block("for (int i = 0; i < BN / 2; i++)")) {
                if (p.softcap() > 0) src.line("sc[i] = %s * tanhf(sc[i] * %s);", ExprEmitter.floatLiteral(p.softcap() * FlashAttention.LOG2E),
                        ExprEmitter.floatLiteral(p.scale() / p.softcap()));
                else src.line("sc[i] *= %s;", ExprEmitter.floatLiteral(p.scale() * FlashAttention.LOG2E));
            }
        }
        java.util.List<String> edge = new java.util.ArrayList<>();
        if (p.mask() != null) edge.add("true");
        else {
            if (p.l() % c.blockN() != 0) edge.add("k0 + BN > L");
            if (p.causal()) edge.add("k0 + BN - 1 > q0");
        }
        if (edge.isEmpty()) return;
        try (var e = src.block("if (" + String.join(" || ", edge) + ")")) {
            src.line("#pragma unroll");
            try (var i = src.block("for (int i = 0; i < BN / 2; i++)")) {
                src.line("const int row = r0 + ((i >> 1) & 1) * 8, col = k0 + (i >> 2) * 8 + lc * 2 + (i & 1);");
                src.line("float& x = sc[i];");
                src.line("if (%s) x = %s;", "col >= L" + (p.causal() ? " || col > row" : "") + (p.mask() != null ? " || row >= S" : ""), FlashAttention.NINF);
                if (p.mask() != null) try (var els = src.block("else")) {
                    p.applyMask(src, "x", "row", "col", "mbase", ExprEmitter.floatLiteral(FlashAttention.LOG2E), FlashAttention.NINF);
                }
            }
        }
    }

    /**
     * The online softmax of {@link FlashAttention}'s lean form on the wgmma fragment: per row half r, the max over
     * the tile and the quad, P = exp2(S - max) packed to 16-bit pairs {@code pk[BN/16][4]} (8-key tile n lands in
     * step n / 2, register (n & 1) x 2 + r: the A layout of {@link WgmmaOps#mmaRegA}), the corrections for O
     * ({@link #rescale}).
     */
    private static void softmax(CudaSource src, String scale, String pack) {
        src.line("unsigned pk[BN / 16][4];");
        src.line("float corr[2];");
        src.line("bool moved = false;");
        softmax(src, scale, pack, false);
    }

    /** The softmax into {@code pk}, or ({@code inPlace}) P left in fp32 in {@code sc} for {@link #packP}, for when pk is still in flight. */
    private static void softmax(CudaSource src, String scale, String pack, boolean inPlace) {
        String mul = scale == null ? "" : " * " + scale;
        if (inPlace) src.line("moved = false;");
        src.line("#pragma unroll");
        try (var r = src.block("for (int r = 0; r < 2; r++)")) {
            src.line("float mx = mrow[r];");
            src.line("#pragma unroll");
            src.line("for (int n = 0; n < BN / 8; n++) mx = fmaxf(mx, fmaxf(sc[4 * n + 2 * r], sc[4 * n + 2 * r + 1]));");
            src.line("mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));");
            src.line("mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));");
            src.line("const float mu = mx == %s ? 0.f : mx; // nothing kept yet: every p is 0", FlashAttention.NINF);
            src.line("const bool up = mx > mrow[r];");
            src.line("corr[r] = up ? kiln_exp2((mrow[r] - mu)%s) : 1.f;", mul);
            src.line("moved |= up;");
            src.line("mrow[r] = mx;");
            if (scale != null) src.line("const float ms = mu%s;", mul);
            src.line("float sum = 0.f;");
            src.line("#pragma unroll");
            try (var n = src.block("for (int n = 0; n < BN / 8; n++)")) {
                for (int e = 0; e < 2; e++)
                    src.line(scale == null ? "const float p%1$d = kiln_exp2(sc[4 * n + 2 * r + %1$d] - mu);"
                            : "const float p%1$d = kiln_exp2(fmaf(sc[4 * n + 2 * r + %1$d], %2$s, -ms));", e, scale);
                src.line("sum += p0 + p1;");
                if (inPlace) src.line("sc[4 * n + 2 * r] = p0; sc[4 * n + 2 * r + 1] = p1;");
                else src.line("pk[n >> 1][(n & 1) * 2 + r] = %s(p0, p1);", pack);
            }
            src.line("lrow[r] = lrow[r] * corr[r] + sum;");
        }
    }

    /** P from the fp32 exponentials in {@code sc} to the 16-bit A fragments {@code pk} (see {@link #softmax}). */
    private static void packP(CudaSource src, String pack) {
        src.line("#pragma unroll");
        src.line("for (int n = 0; n < BN / 8; n++) { pk[n >> 1][(n & 1) * 2] = %s(sc[4 * n], sc[4 * n + 1]); pk[n >> 1][(n & 1) * 2 + 1] = %s(sc[4 * n + 2], sc[4 * n + 3]); }",
                pack, pack);
    }

    /** O *= corr per row, behind a warp vote: skipped when no row of the warp raised its max (every correction is 1). */
    private static void rescale(CudaSource src) {
        src.line("// a warp-uniform branch: every lane sees the same vote");
        try (var rescale = src.block("if (__any_sync(0xffffffffu, moved))")) {
            src.line("#pragma unroll");
            src.line("for (int n = 0; n < DV / 8; n++) { o[4 * n] *= corr[0]; o[4 * n + 1] *= corr[0]; o[4 * n + 2] *= corr[1]; o[4 * n + 3] *= corr[1]; }");
        }
    }

    /** Sum across the quad, O / sum (0 for a row with nothing kept), the epilogue, the store. */
    private static void store(CudaSource src, FusedBody fb, AttentionProblem p) {
        src.line("float linv[2];");
        src.line("#pragma unroll");
        try (var r = src.block("for (int r = 0; r < 2; r++)")) {
            src.line("float ls = lrow[r];");
            src.line("ls += __shfl_xor_sync(0xffffffffu, ls, 1);");
            src.line("ls += __shfl_xor_sync(0xffffffffu, ls, 2);");
            src.line("linv[r] = ls == 0.f ? 0.f : 1.f / ls; // a fully masked row is zeros");
        }
        src.line("#pragma unroll");
        try (var i = src.block("for (int i = 0; i < DV / 2; i++)")) {
            src.line("const int row = r0 + ((i >> 1) & 1) * 8;");
            try (var in = src.block("if (row < S)")) {
                src.line("const float res = o[i] * linv[(i >> 1) & 1];");
                src.line("const long long idx = ((b * %dLL + h) * S + row) * DV + (i >> 2) * 8 + lc * 2 + (i & 1);", p.hq());
                fb.emitEpilogue(src, "res", "idx");
            }
        }
    }
}
