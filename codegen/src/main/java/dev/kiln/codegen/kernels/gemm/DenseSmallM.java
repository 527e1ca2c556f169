package dev.kiln.codegen.kernels.gemm;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The default and the autotuner's candidates for a plain small-M GEMM on Hopper: the transformer shapes of
 * issue 7 (M = 128 or 145 tokens; N, K 768..4096; f16/bf16; 1-8 MB of weights on 132 SMs), where a kernel
 * takes 4-12 us and the cost model, which cannot see latency well enough at that size, ranked the wrong tile
 * first.
 *
 * <p>The defaults are the transposed TMA loop ({@link GemmConfig.Path#WGMMA_TMA_T}): wgmma's 64-row side runs
 * along the weights' N and its narrow side along the tokens, so M is cut into {@link #rows} tiles of at most
 * {@link #MAX_ROWS} rows in steps of 8 (128: two of 64; 145: two of 80, where 64-row tiles padded it to 192),
 * by 64 columns, with a deep TMA ring (12 stages of up to 18 KB). That is the form cuBLAS runs on these shapes
 * (nvjet 64x80 and 64x64 tiles over ~96 blocks; ncu on the H200, 2026-11-29). Measured on the H200 with these
 * defaults (bench/results/2026-11-29-h200-s7/gemm_layers_defaults.txt) against the cp.async wgmma tiles that
 * were the defaults before (gemm_layers_t.txt, the same session): 3.6-5.5 us against 4.7-7.9 us on every WIDE
 * and FEW shape, 6.8-8.0 us against 8.0-9.6 on the LONG_K ones; 0.64-0.98x torch.matmul on all 16 layer shapes,
 * where the earlier defaults ran 0.89-1.56x. Per class:
 * <ul>
 * <li>{@link Shape#WIDE} (64 x 64 output tiles fill at least half the SMs: N 2304..4096 at K 768..1024) and
 *     {@link Shape#FEW} (fewer tiles, K below {@link #LONG_K}: 768x768, 1024x1024): {@code wgmma_tma_t
 *     Rx64x64 w4x1 s12}, no split; then the same with two consumer warpgroups, R x 128, and the earlier
 *     cp.async default.</li>
 * <li>{@link Shape#LONG_K} (fewer tiles, K from {@link #LONG_K}: 768x3072, 1024x4096): {@code wgmma_tma_t
 *     Rx64x64 w4x1 s6} split to fill the GPU ({@link #fillSplit}), then split in three (6.7 us against 6.8-7.2
 *     at the fill split on the K = 3072 shapes), then the earlier cp.async default (64x64 split to fill).</li>
 * </ul>
 * Each class's list starts with four configs (the autotuner's fast mode times four), then the others measured
 * before. A label with {@code kN} runs that split; one without gets the fill split; {@code R} is {@link #rows}.
 * Only for plain strided operands: implicit-GEMM convs keep ConvTuning's choices. Where the transposed loop
 * cannot run (an M-major A, rows not in 16-byte steps) the lists go on with the cp.async tiles.
 */
final class DenseSmallM {
    private DenseSmallM() {}

    /** K from which a problem with few output tiles splits K. */
    static final long LONG_K = 2048;

    /** M padded to 64-row tiles by more than this fraction (M = 145: 192 rows) gets the ragged-M candidates. */
    static final double RAGGED = 0.15;

    /** The transposed loop's row tiles are at most this tall (cuBLAS's 80 for M = 145). */
    static final int MAX_ROWS = 80;

    enum Shape { WIDE, FEW, LONG_K }

    private static final List<String> T_WIDE = List.of("wgmma_tma_t Rx64x64 w4x1 s12 k1", "wgmma_tma_t Rx64x64 w8x1 s12 k1", "wgmma_tma_t Rx128x64 w4x1 s8 k1");

    /** Per class: the fast four first (the default leads), then the others in the order to time them. */
    private static final Map<Shape, List<String>> LISTS = Map.of(
            Shape.WIDE, concat(T_WIDE, List.of("wgmma 64x64x64 w4x1 s6 k1", "wgmma 64x128x64 w4x1 s6 k1", "wgmma 128x64x64 w4x1 s6 k1",
                    "mma 32x128x64 w1x4 s4 k1", "mma 64x64x64 w2x2 s4 k1")),
            Shape.FEW, concat(T_WIDE, List.of("wgmma 64x64x64 w4x1 s8 k1", "mma 32x64x128 w1x2x4 s4 k1", "wgmma 64x64x64 w4x1 s6", "mma 32x64x64 w1x2 s4")),
            Shape.LONG_K, List.of("wgmma_tma_t Rx64x64 w4x1 s6", "wgmma_tma_t Rx64x64 w4x1 s6 k3", "wgmma 64x64x64 w4x1 s6", "wgmma_tma_t Rx64x64 w4x1 s12",
                    "wgmma 128x64x64 w8x1 s6", "wgmma 64x128x64 w4x1 s6", "mma 32x128x128 w1x4x2 s3", "mma 64x64x128 w2x2x4 s4"));

    /** WIDE with ragged M: the cp.async tiles that balance blocks against SMs, after the others. */
    private static final List<String> RAGGED_WIDE = List.of("wgmma 192x64x64 w12x1 s4", "wgmma 64x64x64 w4x1 s4 k2");

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(b);
        return List.copyOf(out);
    }

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
        if (s == Shape.WIDE && ragged(p)) labels.addAll(RAGGED_WIDE);
        Map<String, GemmConfig> out = new LinkedHashMap<>();
        for (String l : labels) {
            l = l.replace("Rx", rows(p) + "x");
            GemmConfig c = l.matches(".* k\\d+") ? GemmConfig.parse(l) : withFill(p, GemmConfig.parse(l + " k1"));
            if (c.validFor(p) && GemmHeuristic.workspace(p, c) <= GemmHeuristic.MAX_WORKSPACE) out.putIfAbsent(c.label(), c);
        }
        return new ArrayList<>(out.values());
    }

    /** Row tile of the transposed loop: M in ceil(M / {@link #MAX_ROWS}) tiles of equal height, rounded up to 8 (128: 64; 145: 80). */
    static int rows(GemmProblem p) {
        long tiles = Math.max(1, (p.m() + MAX_ROWS - 1) / MAX_ROWS);
        return (int) (((p.m() + tiles - 1) / tiles + 7) / 8 * 8);
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
