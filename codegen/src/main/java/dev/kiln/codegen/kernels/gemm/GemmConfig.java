package dev.kiln.codegen.kernels.gemm;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One way to run a GEMM, as data (what an autotuner times and persists): the path, the block tile
 * {@code bm x bn x bk}, the warps, the pipeline depth and the split-K factor. Per path:
 * <ul>
 * <li>{@link Path#MMA} (tensor cores, {@link TiledKernel} with {@link MmaMath}): warps {@code warpsM x warpsN}, each owning a
 *     {@code bm/warpsM x bn/warpsN} accumulator tile in registers; {@code stages} shared-memory buffers.</li>
 * <li>{@link Path#SIMT} (CUDA cores, {@link TiledKernel} with {@link SimtMath}): {@code 32 warpsM warpsN} threads, each owning a
 *     register tile of {@code bm bn / threads} outputs (4x4, 4x8 or 8x8); same staging as MMA.</li>
 * <li>{@link Path#SKINNY} (split-K GEMV, {@link SkinnyKernel}): for {@code m <= bm <= 16} and an
 *     n-contiguous B; {@code bn} columns per block, {@code bk} k rows per block step, no shared-memory
 *     pipeline ({@code stages} is 1).</li>
 * <li>{@link Path#WGMMA} (Hopper warpgroup MMA, {@link WgmmaKernel}): warps {@code warpsM x 1} = whole warpgroups
 *     along M, {@code bk} 64; {@code stages} swizzled shared-memory buffers.</li>
 * <li>{@link Path#WGMMA_TMA} (the same main loop, warp-specialized, {@link WgmmaKernel}): {@code warpsM x 1} consumer
 *     warps (two warpgroups) issue wgmma while one more producer warpgroup fills the {@code stages} ring with
 *     TMA copies; plain strided f16/bf16 operands only (each needs a host-encoded {@link TmaMap}).</li>
 * <li>{@link Path#WGMMA_TMA_T} (the TMA main loop on the transposed product {@code C^T = B^T A^T}, {@link WgmmaKernel}):
 *     the tile is still {@code bm x bn} of C, but wgmma's 64-row side runs along N and its narrow side (any
 *     multiple of 8) along M, so a few rows (M = 145 tokens) pad to 8, not to 64 ({@code 80x64}: two row tiles
 *     of 80 instead of three of 64). {@code warpsM / 4} consumer warpgroups (one or two) split the tile's rows.</li>
 * </ul>
 * {@code splitK} is the number of k ranges run by separate blocks (1: none); the effective count for a
 * problem is {@link #splits}. {@code warpsK} (MMA only; 1: none) slices each staged k tile between that many
 * groups of {@code warpsM x warpsN} warps inside the block ("sliced-K"): every group accumulates its own
 * {@code bk/warpsK} slice of every stage, and the groups' tiles are summed through shared memory after the
 * main loop, so a block has warpsK times the warps (and a k tile is computed warpsK times faster) for the
 * same output tile; it serves small-M problems whose few output tiles leave SMs with too few warps.
 * {@link #invalidReason} says why a config cannot run a problem.
 */
public record GemmConfig(Path path, int bm, int bn, int bk, int warpsM, int warpsN, int stages, int splitK, int warpsK) {
    public enum Path { MMA, SIMT, SKINNY, WGMMA /* issue 7: WgmmaKernel */, WGMMA_TMA /* WgmmaKernel's TMA producer */, WGMMA_TMA_T /* the same, on C^T */ }

    /** A config without sliced-K ({@code warpsK} 1). */
    public GemmConfig(Path path, int bm, int bn, int bk, int warpsM, int warpsN, int stages, int splitK) {
        this(path, bm, bn, bk, warpsM, warpsN, stages, splitK, 1);
    }

    public int threads() { return 32 * warpsM * warpsN * warpsK + producerThreads(); }

    /** Threads that only load (the TMA path's producer warpgroup): they hold no accumulators and skip the epilogue. */
    public int producerThreads() { return tma() ? 128 : 0; }

    /** A warp-specialized path fed by TMA ({@link Path#WGMMA_TMA}, {@link Path#WGMMA_TMA_T}). */
    public boolean tma() { return path == Path.WGMMA_TMA || path == Path.WGMMA_TMA_T; }

    /** A Hopper warpgroup-MMA path (its kernels are {@link WgmmaKernel}'s). */
    public boolean wgmma() { return path == Path.WGMMA || tma(); }

    /** Threads of one k slice (the whole block without sliced-K or producer): they hold the output tile after the reduction. */
    public int sliceThreads() { return 32 * warpsM * warpsN; }

    public GemmConfig withSplitK(int s) { return new GemmConfig(path, bm, bn, bk, warpsM, warpsN, stages, s, warpsK); }

    /** Steps of {@code bk} along K. */
    public long kTiles(GemmProblem p) { return (p.k() + bk - 1) / bk; }

    /** k tiles per split: every split gets at least one (the last may get fewer). */
    public long kTilesPerSplit(GemmProblem p) {
        long kt = kTiles(p);
        return kt == 0 ? 0 : (kt + Math.min(splitK, kt) - 1) / Math.min(splitK, kt);
    }

    /** The split count actually launched for {@code p} (no empty splits). */
    public int splits(GemmProblem p) {
        long kt = kTiles(p), per = kTilesPerSplit(p);
        return per == 0 ? 1 : (int) ((kt + per - 1) / per);
    }

    public long tilesM(GemmProblem p) { return path == Path.SKINNY ? 1 : (p.m() + bm - 1) / bm; }

    public long tilesN(GemmProblem p) { return (p.n() + bn - 1) / bn; }

    /** Output tiles over all batches (each run by {@link #splits} blocks). */
    public long tiles(GemmProblem p) { return tilesM(p) * tilesN(p) * p.batches(); }

    SmemTile tileA(GemmProblem p) { return new SmemTile(p.a().major(), bm, bk, p.math().elemBytes()); }

    SmemTile tileB(GemmProblem p) { return new SmemTile(p.b().major(), bn, bk, p.math().elemBytes()); }

    /** Per-thread output registers and vector width of the skinny path: {@code rows * cw <= 64}. */
    int skinnyColumnsPerThread(GemmProblem p) {
        int cw = 16 / p.math().elemBytes();
        while (cw > 1 && Math.max(1, p.m()) * cw > 64) cw /= 2;
        return cw;
    }

    /**
     * Dynamic shared memory of one block: the staged tiles (or the skinny path's k-lane sums), then 16 bytes for
     * split-K's last-block flag. Kernels declare no static shared memory, so this is all they use (a launch
     * above 48 KB needs the kernel's limit raised, which the runtime does).
     */
    public int sharedBytes(GemmProblem p) { return dataSharedBytes(p) + (splits(p) > 1 ? 16 : 0); }

    /** Shared bytes before the split-K flag (16-byte aligned). */
    int dataSharedBytes(GemmProblem p) {
        if (path == Path.SKINNY) {
            int cw = skinnyColumnsPerThread(p), kl = threads() / (bn / cw);
            return (int) (kl * Math.max(1, p.m()) * bn * p.math().accBytes() + 15) / 16 * 16;
        }
        if (wgmma()) return WgmmaKernel.dataSharedBytes(this); // wgmma hook
        int a = tileA(p).stageBytes() * stages;
        int staged = (a + 127) / 128 * 128 + tileB(p).stageBytes() * stages;
        // sliced-K sums the slices' tiles through the (then idle) staging buffers
        return Math.max(staged, slicedReductionBytes(p));
    }

    /** Shared bytes of the sliced-K reduction: slices 1..warpsK-1 each park their bm x bn accumulators. */
    int slicedReductionBytes(GemmProblem p) { return warpsK == 1 ? 0 : (warpsK - 1) * bm * bn * p.math().accBytes(); }

    /** A rough count of 32-bit registers per thread (accumulators, fragments, addressing). */
    public int registers(GemmProblem p) {
        if (wgmma()) return WgmmaKernel.registers(this); // wgmma hook
        int words = p.math().accBytes() / 4;
        // register staging holds one k step of the operand per thread across the math (Staging)
        int staged = path == Path.SKINNY ? 0 : (p.asyncA() ? 0 : (bm * bk + threads() - 1) / threads()) + (p.asyncB() ? 0 : (bn * bk + threads() - 1) / threads());
        staged *= Math.max(1, p.math().elemBytes() / 4);
        return staged + switch (path) {
            case MMA -> {
                int mi = bm / warpsM / 16, ni = bn / warpsN / 8;
                yield mi * ni * 4 + mi * 4 + ni * 2 + 40 + (warpsK > 1 ? 4 : 0);
            }
            case SIMT -> {
                int per = bm * bn / threads(), tm = simtTm(), tn = per / tm;
                yield (per + tm + tn) * words + 40;
            }
            case WGMMA, WGMMA_TMA, WGMMA_TMA_T -> throw new AssertionError("handled above");
            case SKINNY -> {
                int cw = skinnyColumnsPerThread(p), kl = threads() / (bn / cw), u = bk / kl;
                yield (int) (Math.max(1, p.m()) * cw * words + u * Math.max(1, cw * p.math().elemBytes() / 4) + 32);
            }
        };
    }

    /** SIMT thread tile rows (columns are the rest of {@code bm bn / threads}). */
    int simtTm() { return bm * bn / threads() >= 64 ? 8 : 4; }

    /** Why this config cannot run {@code p}, or null when it can. */
    public String invalidReason(GemmProblem p) {
        if (bm < 1 || bn < 1 || bk < 1 || warpsM < 1 || warpsN < 1 || splitK < 1 || warpsK < 1) return "sizes must be positive";
        if (warpsK > 1 && path != Path.MMA) return "sliced-K (warpsK > 1) is an MMA-path option";
        if (threads() > 1024) return threads() + " threads per block";
        GemmMath math = p.math();
        switch (path) {
            case MMA -> {
                if (!math.tensorCores()) return "MMA needs f16, bf16 or TF32 math, not " + math;
                if (bm % (16 * warpsM) != 0) return "bm " + bm + " is not a multiple of 16 x warpsM";
                if (bn % (16 * warpsN) != 0) return "bn " + bn + " is not a multiple of 16 x warpsN";
                if (bk % 16 != 0) return "bk " + bk + " is not a multiple of 16";
                if (bk % (16 * warpsK) != 0) return "bk " + bk + " does not split into " + warpsK + " k slices of whole 16-wide steps";
                if (stages < 2 || stages > 6) return "stages must be 2..6";
            }
            case SIMT -> {
                if (math.tensorCores()) return "SIMT serves CUDA-core math, not " + math;
                int per = bm * bn / threads();
                if (bm * bn % threads() != 0 || (per != 16 && per != 32 && per != 64)) return "SIMT thread tile must be 16, 32 or 64 outputs";
                int tm = simtTm(), tn = per / tm;
                if (bm % tm != 0 || bn % tn != 0 || (bm / tm) * (bn / tn) != threads()) return "SIMT thread grid does not tile " + bm + "x" + bn;
                if (bk % 4 != 0) return "bk must be a multiple of 4";
                if (stages < 2 || stages > 6) return "stages must be 2..6";
            }
            case SKINNY -> {
                if (bm > 16 || p.m() > bm) return "skinny path needs m <= bm <= 16";
                if (p.b().major() != GemmOperand.Major.MN) return "skinny path needs an n-contiguous B";
                int cw = skinnyColumnsPerThread(p);
                if (bn % cw != 0 || threads() % (bn / cw) != 0) return "bn must split into the threads' column groups";
                int kl = threads() / (bn / cw);
                if (bk % kl != 0 || bk / kl > 16) return "bk must be 1..16 rows per k lane";
                if (stages != 1) return "skinny path has no pipeline (stages 1)";
            }
            case WGMMA, WGMMA_TMA, WGMMA_TMA_T -> { // wgmma hook
                String why = WgmmaKernel.invalidReason(p, this);
                if (why != null) return why;
            }
        }
        if (sharedBytes(p) > p.maxSharedBytes()) return sharedBytes(p) + " bytes of shared memory";
        int regs = registers(p);
        if (regs > 255 || (long) regs * threads() > 65536) return "about " + regs + " registers per thread";
        return null;
    }

    public boolean validFor(GemmProblem p) { return invalidReason(p) == null; }

    /**
     * A short stable text: {@code mma 128x128x32 w2x2 s4 k1}, with sliced-K {@code mma 64x64x128 w2x2x2 s4 k1}
     * (warps M x N x K), the TMA path {@code wgmma_tma 128x256x64 w8x1 s4 k1}, on C^T {@code wgmma_tma_t 80x64x64 w4x1 s11 k1}; {@link #parse} reads it back.
     */
    public String label() {
        return path.name().toLowerCase() + " " + bm + "x" + bn + "x" + bk + " w" + warpsM + "x" + warpsN + (warpsK > 1 ? "x" + warpsK : "")
                + " s" + stages + " k" + splitK;
    }

    private static final Pattern LABEL = Pattern.compile("(mma|simt|skinny|wgmma|wgmma_tma|wgmma_tma_t) (\\d+)x(\\d+)x(\\d+) w(\\d+)x(\\d+)(?:x(\\d+))? s(\\d+) k(\\d+)");

    /** The autotune stage's choice {@code label} when there is one, it parses and it suits {@code p}, else null (the heuristic decides). */
    public static GemmConfig tuned(String label, GemmProblem p) {
        if (label == null) return null;
        try {
            GemmConfig c = parse(label);
            return c.validFor(p) ? c : null;
        } catch (IllegalArgumentException e) {
            return null; // a label from an older Kiln
        }
    }

    public static GemmConfig parse(String label) {
        Matcher m = LABEL.matcher(label.trim());
        if (!m.matches()) throw new IllegalArgumentException("not a GEMM config label: " + label);
        int[] v = new int[8];
        for (int i = 0; i < 8; i++) v[i] = m.group(i + 2) == null ? 1 : Integer.parseInt(m.group(i + 2));
        return new GemmConfig(Path.valueOf(m.group(1).toUpperCase()), v[0], v[1], v[2], v[3], v[4], v[6], v[7], v[5]);
    }

    @Override public String toString() { return label(); }
}
