package dev.kiln.codegen.kernels.gemm;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The default and the autotuner's candidates for a plain small-M GEMM on Hopper: the transformer shapes of
 * issue 7 (M = 128 or 145 tokens; N, K 768..4096; f16/bf16; 1-5 MB of weights on 132 SMs), where a kernel
 * takes 5-12 us and the cost model, which cannot see latency well enough at that size, ranked the wrong tile
 * first for most of them. The default here follows what the H200 measured
 * (bench/results/2026-11-29-h200-s4/gemm_model_shapes.txt), by shape class:
 * <ul>
 * <li>{@link Shape#WIDE} (64 x 64 output tiles fill at least half the SMs: N 2304..4096 at K 768..1024):
 *     {@code mma 64x64x64 w2x2 s4}, no split (6.65-11.5 us, best of the timed tiles on 5 of 6 shapes; the
 *     sliced-K 64x64x128 the model ranked first was 14-20% slower).</li>
 * <li>{@link Shape#FEW} (fewer tiles, K below {@link #LONG_K}: 768x768, 1024x1024): {@code mma 32x64x128 w1x2x4
 *     s4}, no split (best on all four; split-K's reduction costs more than the idle SMs).</li>
 * <li>{@link Shape#LONG_K} (fewer tiles, K from {@link #LONG_K}: 768x3072, 1024x4096): split-K with the fill
 *     split ({@link #fillSplit}): {@code mma 64x64x128 w2x2x4 s4} (best at M = 128), or for a row count that
 *     64-row tiles pad by more than 15% (M = 145: 192 rows), {@code mma 32x64x64 w1x2x2 s6} (best at
 *     145x768x3072).</li>
 * </ul>
 * The candidates after the default are the other measured winners and tiles not timed before: wgmma with one
 * warpgroup on 64 rows ({@code wgmma 64x64}, 64x128) or on both 64-row halves of M = 128 ({@code 128x64
 * w4x1}, fewer instructions than mma.sync and a deeper ring) or two warpgroups on 128x64 ({@code w8x1}), and the classic
 * 64x64 tile with bk 128 (twice the bytes in flight per stage, no sliced-K reduction); for WIDE also tiles a third
 * or half narrower along N, {@code 32x96} and {@code 64x48}, that put 128 blocks on the 132 SMs at 128x3072 where
 * 64x64 puts 96 (N = 2304: 96 where 64x64 puts 72). Each but the measured
 * no-split defaults gets the {@link #fillSplit}. Only for plain strided operands: implicit-GEMM convs keep
 * ConvTuning's choices.
 */
final class DenseSmallM {
    private DenseSmallM() {}

    /** K from which a problem with few output tiles splits K. */
    static final long LONG_K = 2048;

    enum Shape { WIDE, FEW, LONG_K }

    /** Per class: the default first, then the others in the order the autotuner's fast mode should time them. */
    private static final Map<Shape, List<String>> LISTS = Map.of(
            Shape.WIDE, List.of("mma 64x64x64 w2x2 s4 k1", "mma 32x128x64 w1x4 s4 k1", "wgmma 64x64x64 w4x1 s6", "mma 32x96x64 w2x2 s4",
                    "wgmma 128x64x64 w4x1 s6", "mma 64x48x64 w4x1 s4", "mma 64x64x128 w2x2 s3", "wgmma 64x128x64 w4x1 s6",
                    "wgmma 128x64x64 w8x1 s6", "mma 64x64x64 w2x2 s6"),
            Shape.FEW, List.of("mma 32x64x128 w1x2x4 s4 k1", "mma 32x64x64 w1x2 s4", "wgmma 64x64x64 w4x1 s6", "mma 64x64x128 w2x2 s3",
                    "wgmma 128x64x64 w4x1 s6", "wgmma 64x64x64 w4x1 s8 k1", "wgmma 64x128x64 w4x1 s6", "wgmma 128x64x64 w8x1 s6"),
            Shape.LONG_K, List.of("mma 64x64x128 w2x2x4 s4", "mma 32x64x64 w1x2x2 s6", "wgmma 64x64x64 w4x1 s6", "mma 32x128x128 w1x4x2 s3",
                    "wgmma 128x64x64 w4x1 s6", "mma 64x64x128 w2x2 s3", "wgmma 64x128x64 w4x1 s6", "wgmma 128x64x64 w8x1 s6"));

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
        // M = 145: 64-row tiles compute 192 rows; the measured long-K winner there was the 32-row tile
        if (s == Shape.LONG_K && (double) ((p.m() + 63) / 64 * 64) / p.m() > 1.15) {
            labels.set(0, LISTS.get(s).get(1));
            labels.set(1, LISTS.get(s).get(0));
        }
        Map<String, GemmConfig> out = new LinkedHashMap<>();
        for (String l : labels) {
            // a label with " k1" is a measured no-split config; the others get the fill split
            GemmConfig c = l.endsWith(" k1") ? GemmConfig.parse(l) : withFill(p, GemmConfig.parse(l + " k1"));
            if (c.validFor(p) && GemmHeuristic.workspace(p, c) <= GemmHeuristic.MAX_WORKSPACE) out.putIfAbsent(c.label(), c);
        }
        return new ArrayList<>(out.values());
    }

    private static GemmConfig withFill(GemmProblem p, GemmConfig c) { return c.withSplitK(fillSplit(p, c)); }

    /** Bytes of fp32 partial sums the last block of a tile reads back (splits x bm x bn x 4) are kept under this. */
    static final long MAX_PARTIALS = 128 * 1024;

    /**
     * The largest split count (of {@link GemmHeuristic#SPLITS}) whose grid is at most one wave, with at least two
     * k tiles per split (a one-tile split is all prologue) and at most {@link #MAX_PARTIALS} for the last block to
     * sum (one block reads them all: 16 splits of 128x128 would be 1 MB). A wave is one block per SM for
     * {@link Shape#WIDE} (its tiles fill the SMs already; a split there only evens the load), up to two
     * (the occupancy allowing) for the others, as the measured split-K winners (240 blocks of 32x64 at
     * 145x768x3072) ran. The last block of each tile sums the partials inside the kernel (TileEpilogue), so a
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
