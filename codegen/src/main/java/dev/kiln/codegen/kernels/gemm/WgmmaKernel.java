package dev.kiln.codegen.kernels.gemm;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.CudaSource;
import dev.kiln.codegen.kernels.tile.WgmmaOps;

import java.util.ArrayList;
import java.util.List;

/**
 * The Hopper main loop ({@link GemmConfig.Path#WGMMA}, sm_90a): f16/bf16 operands staged by {@code cp.async}
 * into 128-byte-swizzled shared memory and multiplied by {@code wgmma.mma_async m64nNk16} straight from there
 * (both operands through matrix descriptors), fp32 accumulators in registers. {@code warpsM / 4} warpgroups
 * split the block's rows; each owns {@code bm / warpgroups} rows as 64-row wgmma tiles by all {@code bn}
 * columns, so a k step of 16 is one wgmma per 64 rows. {@code bk} is 64: one 128-byte swizzle row of 2-byte
 * elements.
 *
 * <p>Shared memory, per stage, in the operand's own memory order (so cp.async reads global memory along its
 * contiguous axis and writes whole swizzled 16-byte chunks): a K-major tile is {@code mn} rows of 128 bytes
 * (the 64 k of that row), chunk c of row r stored at chunk {@code c ^ (r % 8)}: the ISA's K-major 128B
 * canonical layout with SBO = 1024 (next 8 rows) and LBO unused; a k step of 16 moves the descriptor's start
 * by 32 bytes. An MN-major tile is {@code mn / 64} column blocks of 64 k rows x 128 bytes (64 mn), chunk c of
 * k row r at {@code c ^ (r % 8)}: the MN-major 128B layout with LBO = 8192 (next 64 mn) and SBO = 1024 (next 8
 * k); a k step of 16 moves the start by 2048 bytes. The swizzle is a function of address bits 4-6 ^ 7-9, so
 * every stage starts on a 1024-byte boundary (the kernel aligns the dynamic shared memory base itself). Why
 * 128-byte swizzle and not the no-swizzle core-matrix layout: a 64-element k row is exactly one swizzle row,
 * so cp.async stays 16-byte and coalesced, eight consecutive chunks land in eight distinct bank groups, and
 * wgmma reads are conflict-free; this is the layout cuBLAS/CUTLASS kernels use at full rate.
 *
 * <p>Pipeline ({@code stages} buffers): the prologue issues stages-2 tiles. Step kt waits for tile kt
 * ({@code cp.async.wait_group stages-3}), fences the async proxy (the copies were generic-proxy writes), syncs
 * the block, issues tile kt+stages-2 into the buffer of tile kt-2 (free: every warpgroup passed
 * {@code wgmma.wait_group 1} of step kt-1 before this sync, so tile kt-2's wgmmas are done), then
 * {@code wgmma.fence}, the wgmmas of tile kt, {@code commit_group} and {@code wait_group 1}: one step of
 * wgmma stays in flight while the next step's copies are issued. {@link TileEpilogue} stores (and split-K
 * sums) from the accumulator fragment after {@code wait_group 0}.
 *
 * <p>The TMA variant ({@link GemmConfig.Path#WGMMA_TMA}, {@link #emitTma}) keeps the tiles, layouts, descriptors,
 * wgmmas and epilogue, and replaces the staging: a producer warpgroup after the consumer warpgroups fills the
 * ring by TMA and the consumers never sync the block in the main loop (see there). On C^T
 * ({@link GemmConfig.Path#WGMMA_TMA_T}) the same loop swaps wgmma's operands: B's tile is wgmma's A (64 columns
 * of C per wgmma), the consumer's rows of A's tile are wgmma's B (n = its row count, a multiple of 8), so a few
 * rows need not pad to 64; the tile, the maps and the epilogue stay C's ({@link #fragment} maps the transposed
 * accumulators back).
 */
final class WgmmaKernel {
    private WgmmaKernel() {}

    static final int BK = 64;

    /** Tiles the heuristic offers: bm, bn, warps (4 per warpgroup), stages. */
    static final int[][] TILES = {{128, 256, 8, 4}, {256, 128, 8, 4}, {128, 128, 8, 6}, {128, 128, 4, 6}};

    /**
     * Tiles offered besides {@link #TILES} for problems with many rows ({@link GemmHeuristic#LARGE_M}), e.g. implicit-GEMM
     * convs (rows = output pixels, often only 64-256 columns): bn 64 for N = 64, and shallower rings so two
     * blocks share an SM (128x64 s4: 97 KB; 128x128 s3: 97 KB; 256x64 s4: 161 KB, one block).
     */
    static final int[][] LARGE_M_TILES = {{128, 64, 4, 4}, {256, 64, 8, 4}, {128, 128, 4, 3}, {256, 128, 8, 3}};

    /** Dense tensor-core rate per SM and microsecond that wgmma reaches (about 990 TFLOP/s on 132 SMs). */
    static final double PEAK_FLOPS_PER_SM = 7.5e6;

    /** {@code -Dkiln.gemm.wgmma=false} keeps the heuristic from offering wgmma configs (explicit configs still run). */
    static final boolean OFFERED = !"false".equals(System.getProperty("kiln.gemm.wgmma"));

    /** Tiles the heuristic offers on the TMA path ({@link #tmaOffered}): bm, bn, stages (two consumer warpgroups). */
    static final int[][] TMA_TILES = {{128, 256, 4}, {256, 128, 4}, {128, 128, 6}};

    /**
     * Whether the heuristic offers the TMA path ({@link GemmHeuristic#candidates}, {@link GemmHeuristic#choose}):
     * unless {@code -Dkiln.tma=false} (on by default since the H200 measured it: 8192^3 at 741 TFLOP/s through the
     * runtime against cuBLAS 775, where the cp.async loop reaches 559; read per call so tests can flip it), and for large single-batch f16/bf16 GEMMs on Hopper (M, N >= 1024, K >= 512). Whether the operands
     * suit TMA is the path's own {@link #invalidReason}. Never for convolutions (they rank with
     * {@link GemmHeuristic#ranked}, which leaves it out).
     */
    static boolean tmaOffered(GemmProblem p) {
        return !"false".equalsIgnoreCase(System.getProperty("kiln.tma")) && OFFERED && p.sm() == 90 && (p.math() == GemmMath.F16 || p.math() == GemmMath.BF16)
                && p.batches() == 1 && p.m() >= 1024 && p.n() >= 1024 && p.k() >= 512;
    }

    /** Whether the heuristic should offer wgmma configs: Hopper, f16/bf16, cp.async-able operands, a large problem. */
    static boolean offered(GemmProblem p) {
        return OFFERED && p.sm() == 90 && (p.math() == GemmMath.F16 || p.math() == GemmMath.BF16) && p.asyncA() && p.asyncB()
                && (p.m() >= 512 && p.n() >= 512 && p.k() >= 256 || largeM(p));
    }

    /** Many rows and at least one 64-wide tile of columns and k: where {@link #LARGE_M_TILES} are offered too. */
    static boolean largeM(GemmProblem p) { return p.m() >= GemmHeuristic.LARGE_M && p.n() >= 64 && p.k() >= 64; }

    /** The tiles offered for {@code p} (with {@link #offered}): bm, bn, warps, stages. */
    static java.util.List<int[]> tiles(GemmProblem p) {
        java.util.List<int[]> out = new ArrayList<>(java.util.Arrays.asList(TILES));
        if (largeM(p)) out.addAll(java.util.Arrays.asList(LARGE_M_TILES));
        return out;
    }

    static String invalidReason(GemmProblem p, GemmConfig c) {
        if (p.sm() != 90) return "wgmma needs sm_90 (sm_90a), not sm_" + p.sm();
        if (p.math() != GemmMath.F16 && p.math() != GemmMath.BF16) return "wgmma path serves f16/bf16, not " + p.math();
        if (c.bk() != BK) return "wgmma path needs bk 64 (one 128-byte swizzle row)";
        if (c.warpsN() != 1 || c.warpsM() % 4 != 0) return "wgmma warps are whole warpgroups along M (w4x1, w8x1...)";
        int wgs = c.warpsM() / 4;
        if (c.tma()) {
            if (tmaMap(p, c, true) == null || tmaMap(p, c, false) == null)
                return "TMA needs plain strided operands (unit stride along the contiguous axis, 16-byte rows, one batch entry)";
            if (c.bm() * c.bn() > wgs * 128 * 128) return "at most 128 accumulators per consumer thread (bm x bn <= 16384 per warpgroup)";
        } else if (!p.asyncA() || !p.asyncB()) return "wgmma path stages with 16-byte cp.async only";
        if (c.path() == GemmConfig.Path.WGMMA_TMA && c.warpsM() != 8) return "the TMA path runs two consumer warpgroups (w8x1)";
        if (c.path() == GemmConfig.Path.WGMMA_TMA_T) {
            if (wgs > 2) return "the transposed TMA path runs one or two consumer warpgroups (w4x1, w8x1)";
            if (p.a().major() != GemmOperand.Major.K) return "the transposed TMA path needs a K-major A (its rows are wgmma's narrow operand)";
            if (c.bm() % (8 * wgs) != 0 || c.bm() / wgs > 256) return "bm must be a multiple of 8 per warpgroup, at most 256";
        } else if (c.bm() % (64 * wgs) != 0) return "bm must be a multiple of 64 per warpgroup";
        if (c.bn() % 64 != 0 || c.bn() > 256) return "bn must be 64, 128, 192 or 256";
        int most = c.tma() ? 16 : 8; // a TMA ring's depth costs two barriers a stage; cp.async's, a wait_group immediate
        if (c.stages() < 3 || c.stages() > most) return "stages must be 3.." + most;
        return null;
    }

    static int stageBytes(GemmConfig c) { return (c.bm() + c.bn()) * BK * 2; }

    /** The stages, plus 1024 bytes so the kernel can align them to the swizzle pattern (and the TMA path's full and empty mbarriers). */
    static int dataSharedBytes(GemmConfig c) {
        return 1024 + stageBytes(c) * c.stages() + (c.tma() ? 16 * c.stages() : 0);
    }

    /** Per thread; the TMA path's launch count, all the block's registers split evenly ({@link #emitTma} then moves them). */
    static int registers(GemmConfig c) {
        if (c.tma()) return Math.min(255, 65536 / c.threads() / 8 * 8);
        return c.bm() * c.bn() / c.threads() + 48;
    }

    /** Registers per thread the TMA path's producer keeps (setmaxnreg's smallest useful budget). */
    static final int PRODUCER_REGISTERS = 40;

    /** The TMA map of operand A ({@code a}) or B for this problem and tile, or null when TMA cannot read it. */
    static TmaMap tmaMap(GemmProblem p, GemmConfig c, boolean a) {
        if (p.batches() != 1) return null;
        return a ? TmaMap.of(p.a(), p.m(), p.k(), c.bm()) : TmaMap.of(p.b(), p.n(), p.k(), c.bn());
    }

    /** One operand's swizzled tile: mn x 64 k of 2-byte elements. */
    record Tile(GemmOperand.Major major, int mn) {
        int bytes() { return mn * BK * 2; }

        /** Units of 16 bytes per tile. */
        int units() { return mn * BK / 8; }

        /** C expressions: (mn, k) coordinates of unit e, and its byte offset in the tile. */
        String row(String e) { return major == GemmOperand.Major.K ? "(" + e + " >> 3)" : "((" + e + " % " + mn / 8 + ") * 8)"; }

        String col(String e) { return major == GemmOperand.Major.K ? "((" + e + " & 7) * 8)" : "(" + e + " / " + mn / 8 + ")"; }

        String offset(String r, String k) {
            return major == GemmOperand.Major.K ? "(" + r + ") * 128 + ((((" + k + ") >> 3) ^ ((" + r + ") & 7)) << 4)"
                    : "((" + r + ") >> 6) * 8192 + (" + k + ") * 128 + (((((" + r + ") >> 3) & 7) ^ ((" + k + ") & 7)) << 4)";
        }

        /** Bytes from the tile start to the descriptor start of rows mn0.. (a multiple of 64) and k step kk (of 16). */
        int descOffset(int mn0, int kk) { return major == GemmOperand.Major.K ? mn0 * 128 + kk * 2 : mn0 / 64 * 8192 + kk * 128; }

        int lbo() { return major == GemmOperand.Major.K ? 16 : 8192; }

        boolean trans() { return major == GemmOperand.Major.MN; }

        /** TMA boxes per tile ({@link TmaMap}): the whole tile when K-major, one per 64 mn when MN-major. */
        int boxes() { return major == GemmOperand.Major.K ? 1 : mn / 64; }
    }

    static GemmKernels.Launch emit(CudaSource src, GemmProblem p, GemmConfig c, GemmOutput out, String entry) {
        if (c.tma()) return emitTma(src, p, c, out, entry);
        String t = CTypes.storage(p.math().dtype), dt = p.math() == GemmMath.F16 ? "f16" : "bf16";
        int threads = c.threads(), stages = c.stages(), splits = c.splits(p), wgs = c.warpsM() / 4, rowsWg = c.bm() / wgs, mi = rowsWg / 64;
        int regs = c.bn() / 2;
        long per = c.kTilesPerSplit(p), kTiles = c.kTiles(p), tilesM = c.tilesM(p), tilesN = c.tilesN(p);
        Tile ta = new Tile(p.a().major(), c.bm()), tb = new Tile(p.b().major(), c.bn());
        String mma = WgmmaOps.name(c.bn(), dt, ta.trans(), tb.trans());
        src.line(WgmmaOps.ARCH_MARKER);
        for (String l : WgmmaOps.PRELUDE.strip().split("\n")) src.line(l);
        for (String l : WgmmaOps.mma(c.bn(), dt, ta.trans(), tb.trans()).strip().split("\n")) src.line(l);
        loader(src, "kiln_wg_load_a", p.a(), ta, p.m(), p.k(), threads, t);
        loader(src, "kiln_wg_load_b", p.b(), tb, p.n(), p.k(), threads, t);
        src.line("");
        try (var k = src.block(out.signature(entry, threads + ", 1", TileEpilogue.params(p, splits)))) {
            src.line("KILN_DYNAMIC_SMEM(smem);");
            TileEpilogue.declare(src, splits, dataSharedBytes(c));
            src.line("unsigned char* tiles = smem + ((1024u - (kiln_smem(smem) & 1023u)) & 1023u); // the swizzle repeats every 1024 bytes");
            src.line("unsigned char* As = tiles;");
            src.line("unsigned char* Bs = tiles + %d;", ta.bytes() * stages);
            TiledKernel.tileCoords(src, tilesM, tilesN);
            src.line("const long long row0 = (long long)tm * %d, col0 = (long long)tn * %d;", c.bm(), c.bn());
            src.line("const int kt0 = blockIdx.y * %d, kt1 = min(%d, kt0 + %d);", per, kTiles, per);
            src.line("const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, wg = threadIdx.x >> 7;");
            // descriptors of stage 0 for this warpgroup's rows; stages and k steps add byte offsets / 16 to the address field
            src.line("const unsigned long long descA = kiln_wgmma_desc(As + wg * %d, %d, 1024), descB = kiln_wgmma_desc(Bs, %d, 1024);",
                    ta.descOffset(rowsWg, 0), ta.lbo(), tb.lbo());
            try (var batch = TileEpilogue.batchScope(src, p)) {
                src.line("const %s* A = %s + %s;", t, p.a().pointer(), p.a().batchOffset("bz"));
                src.line("const %s* B = %s + %s;", t, p.b().pointer(), p.b().batchOffset("bz"));
                src.line("float acc[%d][%d];", mi, regs);
                src.line("#pragma unroll");
                src.line("for (int i = 0; i < %d; i++) for (int j = 0; j < %d; j++) acc[i][j] = 0.f;", mi, regs);
                String issue = "kiln_wg_load_a(As + %s * " + ta.bytes() + ", A, row0, (long long)(%s) * " + BK + "); "
                        + "kiln_wg_load_b(Bs + %s * " + tb.bytes() + ", B, col0, (long long)(%s) * " + BK + ");";
                src.line("#pragma unroll");
                try (var pro = src.block("for (int s = 0; s < " + (stages - 2) + "; s++)")) {
                    src.line("if (kt0 + s < kt1) { " + issue + " }", "s", "kt0 + s", "s", "kt0 + s");
                    src.line("kiln_cp_async_commit();");
                }
                src.line("int rs = 0, ws = %d;", stages - 2);
                src.line("#pragma unroll 1");
                try (var loop = src.block("for (int kt = kt0; kt < kt1; kt++)")) {
                    src.line("kiln_cp_async_wait<%d>();", stages - 3);
                    src.line("kiln_fence_proxy_async();");
                    src.line("__syncthreads();");
                    src.line("if (kt + %d < kt1) { " + issue + " }", stages - 2, "ws", "kt + " + (stages - 2), "ws", "kt + " + (stages - 2));
                    src.line("kiln_cp_async_commit();");
                    src.line("kiln_wgmma_fence();");
                    src.line("const unsigned long long da = descA + (unsigned long long)(rs * %d), db = descB + (unsigned long long)(rs * %d);",
                            ta.bytes() >> 4, tb.bytes() >> 4);
                    for (int kk = 0; kk < BK; kk += 16)
                        for (int i = 0; i < mi; i++)
                            src.line("%s(acc[%d], da + %dull, db + %dull);", mma, i, ta.descOffset(i * 64, kk) >> 4, tb.descOffset(0, kk) >> 4);
                    src.line("kiln_wgmma_commit();");
                    src.line("kiln_wgmma_wait<1>();");
                    src.line("rs = rs == %d ? 0 : rs + 1;", stages - 1);
                    src.line("ws = ws == %d ? 0 : ws + 1;", stages - 1);
                }
                src.line("kiln_wgmma_wait<0>();");
                src.line("kiln_cp_async_wait<0>();");
                src.line("__syncthreads(); // the buffers are free for the next batch entry");
                TileEpilogue.emit(src, p, c, fragment(mi, regs, rowsWg, false), out);
            }
        }
        return GemmKernels.launch(p, c, tilesM * tilesN, splits);
    }

    /**
     * The warp-specialized main loop. The first warpgroups consume (two on {@link GemmConfig.Path#WGMMA_TMA}, one
     * or two on C^T; each {@code bm / consumers} rows by {@code bn}, as in {@link #emit}); the last one produces:
     * it drops to {@link #PRODUCER_REGISTERS} registers ({@code setmaxnreg}) so the consumers can grow to hold
     * their accumulators, and one of its threads walks the k tiles: wait until ring slot s is empty, arm its full barrier with the stage's byte count, issue the
     * stage's TMA copies (one box for a K-major tile, one per 64 columns for an MN-major one). A consumer waits
     * for slot s to be full, issues its wgmmas, keeps one group in flight ({@code wait_group 1}) and then marks
     * the previous slot empty (one arrival per consumer warpgroup). So copies run {@code stages} tiles ahead,
     * no consumer ever waits for another, and the block never syncs in the loop. Why TMA and not cp.async
     * from a producer: one thread moves a whole 16-48 KB stage with a few instructions and no address math,
     * and the copy engine's byte count on the barrier replaces the cp.async groups plus a block barrier.
     *
     * <p>Kernel parameter {@code kiln_tmap} (after the output's and split-K's): two 128-byte tensor maps in
     * global memory, A's then B's ({@link #tmaMap}), encoded by the host once the operands' addresses are known.
     * In global memory rather than {@code __grid_constant__} parameters because the runtime packs every kernel
     * argument into an 8-byte slot (a pointer fits, a 128-byte struct would not); the maps are written before
     * the launch (graph build), so no proxy fence is needed. Edges: TMA zero-fills outside the tensor (rows,
     * columns and k past the end), so ragged shapes need no predicates; the epilogue clips the stores.
     */
    private static GemmKernels.Launch emitTma(CudaSource src, GemmProblem p, GemmConfig c, GemmOutput out, String entry) {
        String dt = p.math() == GemmMath.F16 ? "f16" : "bf16";
        boolean t = c.path() == GemmConfig.Path.WGMMA_TMA_T;
        int consumers = c.sliceThreads(), wgs = c.warpsM() / 4, stages = c.stages(), splits = c.splits(p), rowsWg = c.bm() / wgs;
        // per consumer: mi wgmma tiles of 64 (rows; on C^T columns), each n wide (all bn columns; on C^T its rowsWg rows)
        int mi = t ? c.bn() / 64 : rowsWg / 64, n = t ? rowsWg : c.bn(), regs = n / 2, launchRegs = registers(c);
        int consumerRegs = Math.min(256, (launchRegs * c.threads() - PRODUCER_REGISTERS * c.producerThreads()) / consumers / 8 * 8);
        long per = c.kTilesPerSplit(p), kTiles = c.kTiles(p), tilesM = c.tilesM(p), tilesN = c.tilesN(p);
        Tile ta = new Tile(p.a().major(), c.bm()), tb = new Tile(p.b().major(), c.bn());
        TmaMap ma = tmaMap(p, c, true), mb = tmaMap(p, c, false);
        Tile wideOp = t ? tb : ta, narrowOp = t ? ta : tb; // wgmma's A (64 rows per tile) and B (n wide)
        String mma = WgmmaOps.name(n, dt, wideOp.trans(), narrowOp.trans());
        src.line(WgmmaOps.ARCH_MARKER);
        for (String l : WgmmaOps.PRELUDE.strip().split("\n")) src.line(l);
        for (String l : WgmmaOps.TMA_PRELUDE.strip().split("\n")) src.line(l);
        for (String l : WgmmaOps.mma(n, dt, wideOp.trans(), narrowOp.trans()).strip().split("\n")) src.line(l);
        src.line("");
        src.comment("kiln_tmap[0..127]: A, " + ma.describe());
        src.comment("kiln_tmap[128..255]: B, " + mb.describe());
        List<String> params = new ArrayList<>(TileEpilogue.params(p, splits));
        params.add("const unsigned char* __restrict__ kiln_tmap");
        try (var k = src.block(out.signature(entry, c.threads() + ", 1", params))) {
            src.line("KILN_DYNAMIC_SMEM(smem);");
            TileEpilogue.declare(src, splits, dataSharedBytes(c));
            src.line("unsigned char* tiles = smem + ((1024u - (kiln_smem(smem) & 1023u)) & 1023u); // the swizzle repeats every 1024 bytes");
            src.line("unsigned char* As = tiles;");
            src.line("unsigned char* Bs = tiles + %d;", ta.bytes() * stages);
            src.line("const unsigned sA = kiln_smem(As), sB = kiln_smem(Bs);");
            src.line("const unsigned bars = kiln_smem(tiles + %d); // full[s] at bars + 8 s, empty[s] at bars + 8 (%d + s)", stageBytes(c) * stages, stages);
            TiledKernel.tileCoords(src, tilesM, tilesN);
            src.line("const long long row0 = (long long)tm * %d, col0 = (long long)tn * %d;", c.bm(), c.bn());
            src.line("const int kt0 = blockIdx.y * %d, kt1 = min(%d, kt0 + %d);", per, kTiles, per);
            src.line("const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, wg = threadIdx.x >> 7;");
            try (var init = src.block("if (threadIdx.x == 0)")) {
                src.line("#pragma unroll");
                src.line("for (int s = 0; s < %d; s++) { kiln_mbar_init(bars + 8 * s, 1); kiln_mbar_init(bars + 8 * (%d + s), %d); }", stages, stages, wgs);
                src.line("kiln_mbar_init_fence();");
            }
            src.line("__syncthreads();");
            try (var batch = TileEpilogue.batchScope(src, p)) {
                try (var prod = src.block("if (wg == " + wgs + ")")) {
                    src.comment("producer warpgroup: one thread issues every copy");
                    src.line("kiln_setmaxnreg_dec<%d>();", PRODUCER_REGISTERS);
                    try (var one = src.block("if (threadIdx.x == " + consumers + ")")) {
                        src.line("kiln_tma_prefetch(kiln_tmap);");
                        src.line("kiln_tma_prefetch(kiln_tmap + 128);");
                        String boxesA = boxes(src, ta, "row0", p.m(), "boxesA"), boxesB = boxes(src, tb, "col0", p.n(), "boxesB");
                        src.line("const unsigned bytes = %s * %du + %s * %du;", boxesA, ta.bytes() / ta.boxes(), boxesB, tb.bytes() / tb.boxes());
                        src.line("int s = 0;");
                        src.line("unsigned ph = 0;");
                        src.line("#pragma unroll 1");
                        try (var loop = src.block("for (int kt = kt0; kt < kt1; kt++)")) {
                            src.line("kiln_mbar_wait(bars + 8 * (%d + s), ph ^ 1); // the consumers are done with slot s", stages);
                            src.line("const unsigned full = bars + 8 * s;");
                            src.line("kiln_mbar_expect_tx(full, bytes);");
                            tmaLoads(src, ta, "sA + s * " + ta.bytes(), "kiln_tmap", "row0", boxesA);
                            tmaLoads(src, tb, "sB + s * " + tb.bytes(), "kiln_tmap + 128", "col0", boxesB);
                            src.line("if (++s == %d) { s = 0; ph ^= 1; }", stages);
                        }
                    }
                    src.line("return;");
                }
                src.comment("consumer warpgroups");
                src.line("kiln_setmaxnreg_inc<%d>();", consumerRegs);
                src.line("const unsigned long long descA = kiln_wgmma_desc(As + wg * %d, %d, 1024), descB = kiln_wgmma_desc(Bs, %d, 1024);",
                        ta.descOffset(rowsWg, 0), ta.lbo(), tb.lbo());
                src.line("float acc[%d][%d];", mi, regs);
                src.line("#pragma unroll");
                src.line("for (int i = 0; i < %d; i++) for (int j = 0; j < %d; j++) acc[i][j] = 0.f;", mi, regs);
                src.line("int s = 0, prev = 0;");
                src.line("unsigned ph = 0;");
                src.line("#pragma unroll 1");
                try (var loop = src.block("for (int kt = kt0; kt < kt1; kt++)")) {
                    src.line("kiln_mbar_wait(bars + 8 * s, ph); // slot s has landed");
                    src.line("kiln_wgmma_fence();");
                    src.line("const unsigned long long da = descA + (unsigned long long)(s * %d), db = descB + (unsigned long long)(s * %d);",
                            ta.bytes() >> 4, tb.bytes() >> 4);
                    for (int kk = 0; kk < BK; kk += 16)
                        for (int i = 0; i < mi; i++)
                            if (t) src.line("%s(acc[%d], db + %dull, da + %dull);", mma, i, tb.descOffset(i * 64, kk) >> 4, ta.descOffset(0, kk) >> 4);
                            else src.line("%s(acc[%d], da + %dull, db + %dull);", mma, i, ta.descOffset(i * 64, kk) >> 4, tb.descOffset(0, kk) >> 4);
                    src.line("kiln_wgmma_commit();");
                    src.line("kiln_wgmma_wait<1>(); // the previous tile's wgmmas are done: its slot is free");
                    src.line("if (kt > kt0 && (threadIdx.x & 127) == 0) kiln_mbar_arrive(bars + 8 * (%d + prev));", stages);
                    src.line("prev = s;");
                    src.line("if (++s == %d) { s = 0; ph ^= 1; }", stages);
                }
                src.line("kiln_wgmma_wait<0>();");
                src.line("%s // both consumer warpgroups are done reading the ring (the epilogue may reuse it)", TileEpilogue.sync(c));
                TileEpilogue.emit(src, p, c, fragment(mi, regs, rowsWg, t), out);
            }
        }
        return GemmKernels.launch(p, c, tilesM * tilesN, splits, List.of(ma, mb));
    }

    /**
     * The C expression of how many of {@code tile}'s boxes the producer copies (declaring {@code name} when it
     * varies): all of them, except that an MN-major tile at the ragged end skips the 64-column boxes wholly past
     * {@code size}. Those would only fill columns the epilogue never stores, and skipping them keeps every copy
     * (and its byte count on the barrier) inside the tensor. The skipped part of the slot keeps old data, which
     * reaches only those unstored outputs.
     */
    private static String boxes(CudaSource src, Tile tile, String mn0, long size, String name) {
        if (tile.boxes() == 1 || size % tile.mn() == 0) return String.valueOf(tile.boxes());
        src.line("const unsigned %s = (unsigned)min(%dLL, (%dLL - %s + 63) / 64);", name, tile.boxes(), size, mn0);
        return name;
    }

    /** The producer's copies of k tile {@code kt} into the tile at shared address {@code dst}: one box, or one per 64 mn (the first {@code count}). */
    private static void tmaLoads(CudaSource src, Tile tile, String dst, String map, String mn0, String count) {
        if (tile.major() == GemmOperand.Major.K) {
            src.line("kiln_tma_load_2d(%s, %s, full, kt * %d, (int)%s);", dst, map, BK, mn0);
            return;
        }
        for (int j = 0; j < tile.boxes(); j++) {
            String copy = String.format("kiln_tma_load_2d(%s + %d, %s, full, (int)%s + %d, kt * %d);", dst, j * 8192, map, mn0, j * 64, BK);
            src.line(j == 0 || count.equals(String.valueOf(tile.boxes())) ? copy : "if (" + j + " < " + count + ") " + copy);
        }
    }

    /**
     * The accumulators of wgmma tile i of this warpgroup ({@code regs} per thread, see {@link WgmmaOps#mma}):
     * rows {@code wg rowsWg + 64 i..} of C by all the tile's columns, or with {@code transposed}
     * ({@link GemmConfig.Path#WGMMA_TMA_T}) C^T's 64 columns {@code 64 i..} by the warpgroup's {@code rowsWg} rows,
     * so the fragment's row is C's column and its column C's row (consecutive lanes then hold consecutive columns
     * of one row, which the run epilogue's shared-memory staging turns back into row-major runs).
     */
    static Fragment fragment(int mi, int regs, int rowsWg, boolean transposed) {
        String fragRow = "(warp & 3) * 16 + (lane >> 2) + (h >> 1) * 8", fragCol = "j * 8 + (lane & 3) * 2 + (h & 1)";
        String row = transposed ? "row0 + wg * " + rowsWg + " + " + fragCol : "row0 + wg * " + rowsWg + " + i * 64 + " + fragRow;
        String col = transposed ? "col0 + i * 64 + " + fragRow : "col0 + " + fragCol;
        return new Fragment() {
            @Override public int registers() { return mi * regs; }

            @Override public void forEach(CudaSource src, Runnable body) {
                src.line("#pragma unroll");
                try (var i = src.block("for (int i = 0; i < " + mi + "; i++)")) {
                    src.line("#pragma unroll");
                    try (var j = src.block("for (int j = 0; j < " + regs / 4 + "; j++)")) {
                        src.line("#pragma unroll");
                        try (var h = src.block("for (int h = 0; h < 4; h++)")) {
                            src.line("const int e_r = i * %d + j * 4 + h;", regs);
                            src.line("const long long e_row = %s;", row);
                            src.line("const long long e_col = %s;", col);
                            src.line("float& e_v = acc[i][j * 4 + h];");
                            body.run();
                        }
                    }
                }
            }
        };
    }

    /**
     * {@code NAME(unsigned char* dst, const T* src, long long mn0, long long k0)}: the tile at (mn0, k0) by 16-byte
     * cp.async into its swizzled places, zero-filled past the edges and where the operand's predicate says so.
     * In a K-major tile every chunk a thread copies sits in the same k column (threads are a multiple of the 8
     * chunks per row), so the k part of the address (a conv's tap decode: two divisions) is computed once per
     * call, not once per chunk; the row parts do not depend on k0 and the compiler keeps them out of the main
     * loop. The conditions are joined with {@code &}, not {@code &&}: without branches between the chunks, the
     * k terms of the operand's predicate are computed once too.
     */
    private static void loader(CudaSource src, String name, GemmOperand op, Tile tile, long mnSize, long kSize, int threads, String t) {
        int perThread = (tile.units() + threads - 1) / threads;
        boolean oneColumn = tile.major() == GemmOperand.Major.K && threads % 8 == 0;
        try (var f = src.block("static __device__ __forceinline__ void " + name + "(unsigned char* __restrict__ dst, const " + t
                + "* __restrict__ src, long long mn0, long long k0)")) {
            if (oneColumn) {
                src.line("const unsigned kk = (threadIdx.x & 7) * 8; // this thread's k column in every chunk");
                src.line("const long long gk = k0 + kk, ko = %s;", op.kOffset("gk"));
            }
            src.line("#pragma unroll");
            try (var l = src.block("for (int c = 0; c < " + perThread + "; c++)")) {
                src.line("const unsigned e = threadIdx.x + c * %du;", threads);
                if (tile.units() % threads != 0) src.line("if (e >= %du) break;", tile.units());
                if (oneColumn) src.line("const unsigned r = %s;", tile.row("e"));
                else src.line("const unsigned r = %s, kk = %s;", tile.row("e"), tile.col("e"));
                src.line(oneColumn ? "const long long gmn = mn0 + r;" : "const long long gmn = mn0 + r, gk = k0 + kk;");
                List<String> conds = new ArrayList<>();
                if (mnSize % tile.mn() != 0) conds.add("(gmn < " + mnSize + "LL)");
                if (kSize % BK != 0) conds.add("(gk < " + kSize + "LL)");
                String valid = op.valid("gmn", "gk");
                if (valid != null) conds.add("(" + valid + ")");
                src.line("const bool ok = %s;", conds.isEmpty() ? "true" : String.join(" & ", conds));
                src.line("kiln_cp_async16(dst + %s, ok ? src + (%s + %s) : src, ok);", tile.offset("r", "kk"), op.mnOffset("gmn"),
                        oneColumn ? "ko" : op.kOffset("gk"));
            }
        }
    }
}
