package dev.kiln.codegen.kernels.gemm;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The default and the autotuner's candidates for a plain small-M GEMM on Hopper: the transformer shapes of
 * issue 7 (M = 128 or 145 tokens; N, K 768..4096; f16/bf16; 1-5 MB of weights on 132 SMs), where a kernel
 * takes 4-12 us and the cost model, which cannot see latency well enough at that size, ranked the wrong tile
 * first. The defaults follow what the H200 measured over every candidate
 * (bench/results/2026-11-29-h200-s5/gemm_layers.txt): a single warpgroup on a 64x64 wgmma tile
 * ({@code wgmma 64x64x64 w4x1}) was fastest on 13 of the 16 layer shapes, 1.05-1.27x torch.matmul, by class:
 * <ul>
 * <li>{@link Shape#WIDE} (64 x 64 output tiles fill at least half the SMs: N 2304..4096 at K 768..1024):
 *     {@code wgmma 64x64x64 w4x1 s6}, no split, while those tiles fit one block per SM (M = 128; 145x2304);
 *     past that (M = 145 pads to three 64-row tiles: 144 or 192 blocks at N = 3072, 4096) {@code wgmma
 *     64x128x64 w4x1 s6}, no split, with half the blocks (fastest there; 1.21-1.58x torch, the worst shapes).</li>
 * <li>{@link Shape#FEW} (fewer tiles, K below {@link #LONG_K}: 768x768, 1024x1024): {@code wgmma 64x64x64
 *     w4x1 s8}, no split (fastest on three of four, 2% behind {@code mma 32x64x128 w1x2x4 s4} on the fourth).</li>
 * <li>{@link Shape#LONG_K} (fewer tiles, K from {@link #LONG_K}: 768x3072, 1024x4096): {@code wgmma 64x64x64 w4x1
 *     s6} split to fill the GPU ({@link #fillSplit}), which gives the splits that won: 8 at 128x768x3072 and
 *     128x1024x4096, 6 at 145x768x3072, 5 at 145x1024x4096.</li>
 * </ul>
 * Each class's list starts with its four fastest measured configs (the autotuner's fast mode times four),
 * then the others timed. When 64-row tiles pad M by more than {@link #RAGGED} (M = 145 computes 192 rows), WIDE
 * also offers, right after the measured four, tiles not yet timed that balance the blocks against the SMs
 * rather than leave 12 or 60 SMs running a second 64x64 block: one block over all 192 rows with three
 * warpgroups (B's tile is read once, not three times; split in two along K: 96 blocks at N = 3072, 128 at
 * 4096), and 64x64 in 4 stages (64 KB: three blocks per SM) split in two (288 half-K blocks all resident).
 * A label with {@code kN} runs that split; one without gets the fill split. Only for plain strided operands:
 * implicit-GEMM convs keep ConvTuning's choices.
 */
final class DenseSmallM {
    private DenseSmallM() {}

    /** K from which a problem with few output tiles splits K. */
    static final long LONG_K = 2048;

    /** M padded to 64-row tiles by more than this fraction (M = 145: 192 rows) gets the ragged-M candidates. */
    static final double RAGGED = 0.15;

    enum Shape { WIDE, FEW, LONG_K }

    /** Per class: the measured four fastest first (the default leads), then the others in the order to time them. */
    private static final Map<Shape, List<String>> LISTS = Map.of(
            Shape.WIDE, List.of("wgmma 64x64x64 w4x1 s6 k1", "wgmma 64x128x64 w4x1 s6 k1", "wgmma 128x64x64 w4x1 s6 k1", "mma 32x128x64 w1x4 s4 k1",
                    "mma 64x64x64 w2x2 s4 k1", "mma 32x96x64 w2x2 s4 k1", "mma 64x64x128 w2x2 s3 k1", "wgmma 64x64x64 w4x1 s8 k1"),
            Shape.FEW, List.of("wgmma 64x64x64 w4x1 s8 k1", "mma 32x64x128 w1x2x4 s4 k1", "wgmma 64x64x64 w4x1 s6", "mma 32x64x64 w1x2 s4",
                    "mma 64x64x128 w2x2 s3", "wgmma 128x64x64 w8x1 s6", "wgmma 128x64x64 w4x1 s6", "wgmma 64x128x64 w4x1 s6"),
            Shape.LONG_K, List.of("wgmma 64x64x64 w4x1 s6", "wgmma 128x64x64 w8x1 s6", "wgmma 128x64x64 w4x1 s6", "wgmma 64x128x64 w4x1 s6",
                    "mma 32x128x128 w1x4x2 s3", "mma 64x64x128 w2x2x4 s4", "mma 32x64x64 w1x2x2 s6", "mma 64x64x128 w2x2 s3"));

    /** WIDE with ragged M: not timed yet; they go after the measured four. */
    private static final List<String> RAGGED_WIDE = List.of("wgmma 192x64x64 w12x1 s4", "wgmma 64x64x64 w4x1 s4 k2", "wgmma 192x64x64 w12x1 s4 k1");

    /** Plain (strided) f16/bf16 operands staged by cp.async, one batch entry, few rows, on sm_90. */
    static boolean applies(GemmProblem p) {
        return p.sm() == 90 && (p.math() == GemmMath.F16 || p.math() == GemmMath.BF16) && p.asyncA() && p.asyncB() && p.batches() == 1
                && p.a() instanceof StridedOperand && p.b() instanceof StridedOperand && GemmHeuristic.smallM(p);
    }

    static Shape shape(GemmProblem p) {
        long tiles64 = ((p.m() + 63) / 64) * ((p.n() + 63) / 64);
        if (2 * tiles64 >= p.smCount()) return Shape.WIDE;
        return p.k() >= LONG_K ? Shape.LONG_K : Shape.FEW;
    }

    /** The default: the class's first config that can run {@code p} (null when none can). */
    static GemmConfig choose(GemmProblem p) {
        List<GemmConfig> c = candidates(p);
        return c.isEmpty() ? null : c.get(0);
    }

    /** The class's configs that can run {@code p}, default first, with their split counts. */
    static List<GemmConfig> candidates(GemmProblem p) {
        Shape s = shape(p);
        List<String> labels = new ArrayList<>(LISTS.get(s));
        if (s == Shape.WIDE && ((p.m() + 63) / 64) * ((p.n() + 63) / 64) > p.smCount()) {
            // 64x64 blocks past one per SM: the 64x128 tile, half the blocks, was faster (M = 145, N >= 3072)
            labels.set(0, LISTS.get(s).get(1));
            labels.set(1, LISTS.get(s).get(0));
        }
        if (s == Shape.WIDE && ragged(p)) labels.addAll(4, RAGGED_WIDE);
        Map<String, GemmConfig> out = new LinkedHashMap<>();
        for (String l : labels) {
            GemmConfig c = l.matches(".* k\\d+") ? GemmConfig.parse(l) : withFill(p, GemmConfig.parse(l + " k1"));
            if (c.validFor(p) && GemmHeuristic.workspace(p, c) <= GemmHeuristic.MAX_WORKSPACE) out.putIfAbsent(c.label(), c);
        }
        return new ArrayList<>(out.values());
    }

    /** 64-row tiles pad M by more than {@link #RAGGED}. */
    static boolean ragged(GemmProblem p) { return (double) ((p.m() + 63) / 64 * 64) / p.m() > 1 + RAGGED; }

    private static GemmConfig withFill(GemmProblem p, GemmConfig c) { return c.withSplitK(fillSplit(p, c)); }

    /** Bytes of fp32 partial sums the last block of a tile reads back (splits x bm x bn x 4) are kept under this. */
    static final long MAX_PARTIALS = 128 * 1024;

    /**
     * The largest split count (of {@link GemmHeuristic#SPLITS}) whose grid is at most one wave, with at least two
     * k tiles per split (a one-tile split is all prologue) and at most {@link #MAX_PARTIALS} for the last block to
     * sum (one block reads them all: 16 splits of 128x128 would be 1 MB). A wave is one block per SM for
     * {@link Shape#WIDE} (its tiles fill the SMs already; a split there only evens the load), up to two
     * (the occupancy allowing) for the others: for {@code wgmma 64x64x64 w4x1 s6} at long K that is the split
     * each of the 2026-11-29 s5 run's winners had (256 blocks at 128x1024x4096, 216 at 145x768x3072, 240 at
     * 145x1024x4096; 8 at 128x768x3072, where 10 would pass the partials cap). The last block of each tile sums the partials inside the kernel (TileEpilogue), so a
     * split costs one partial tile written and read through L2, no second launch.
     */
    static int fillSplit(GemmProblem p, GemmConfig c) {
        int perSm = shape(p) == Shape.WIDE ? 1 : Math.min(2, GemmHeuristic.occupancy(p, c.withSplitK(2)));
        long room = (long) p.smCount() * perSm;
        int best = 1;
        for (int s : GemmHeuristic.SPLITS) {
            GemmConfig v = c.withSplitK(s);
            if (s > v.kTiles(p) || v.kTilesPerSplit(p) < 2 || (long) v.splits(p) * c.bm() * c.bn() * 4 > MAX_PARTIALS) break;
            if (v.tiles(p) * v.splits(p) <= room) best = s;
        }
        return best;
    }
}
