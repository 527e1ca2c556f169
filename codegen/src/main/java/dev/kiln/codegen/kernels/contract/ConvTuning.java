package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.kernels.gemm.GemmConfig;
import dev.kiln.codegen.kernels.gemm.GemmHeuristic;
import dev.kiln.codegen.kernels.gemm.GemmProblem;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Tile configs for implicit-GEMM convs, built on {@link GemmHeuristic}'s ranking with two conv-specific rules:
 * <ul>
 * <li>Small maps (ResNet's 7x7 and 14x14 stages, MobileNet's 1x1 convs on 14x14): the heuristic's cost model
 *     sees every small tile of a latency-bound problem as equally fast, so its first choice can leave most SMs
 *     idle (MobileNetV2's 1x1 384->64 on 14x14: 4 blocks). The candidates add the cheapest split-K variants of
 *     small tiles that fill at least half the SMs, and the default becomes the cheapest of them when the
 *     heuristic's choice would fill less than half of them (ResNet's 3x3 64->64 on 56x56:
 *     49 blocks of 64x64 become 196 of 16x128).</li>
 * <li>Large maps (at least {@link GemmHeuristic#LARGE_M} output pixels, e.g. ResNet-50 at batch 32): the grid fills
 *     the SMs many times over with any tile, and a memory-bound one (a 1x1 conv with K = 256) costs every tile
 *     the same in the model; ties (within 2%) go to the tile that computes the fewest padding outputs, then to
 *     the biggest (fewer operand re-reads per output), so N = 64 gets 256x64, not 256x128 half empty. The
 *     candidates alternate the wgmma and the mma.sync families (each in that order), so the autotuner times
 *     the best of both.</li>
 * <li>Register-staged A (channels not a multiple of 8 f16, e.g. the C = 3 stem): a thread holds its share of
 *     the next A tile in registers while the address math is per element, so configs staging more than 16
 *     elements per thread, or with tiles above 128x128, spill (ptxas, sm_90) and are left out.</li>
 * </ul>
 * The autotuner times {@link #candidates}; {@link #choose} is the default without it.
 */
final class ConvTuning {
    private ConvTuning() {}

    /** Split counts tried for the fill variants. */
    private static final int[] SPLITS = {2, 3, 4, 6, 8, 12, 16};

    static GemmConfig choose(GemmProblem p) {
        List<GemmConfig> base = usable(p, ranked(p));
        if (base.isEmpty()) return GemmHeuristic.chooseByCost(p);
        GemmConfig first = base.get(0);
        if (blocks(p, first) * 2 >= p.smCount()) return first;
        List<GemmConfig> fill = fill(p, base);
        return fill.isEmpty() ? first : fill.get(0);
    }

    /**
     * Up to {@code n}: the default first, then the ranking's wgmma configs, its other configs and the fill
     * variants, one of each in turn.
     */
    static List<GemmConfig> candidates(GemmProblem p, int n) {
        List<GemmConfig> base = usable(p, ranked(p));
        List<GemmConfig> fill = fill(p, base), wgmma = new ArrayList<>(), other = new ArrayList<>();
        for (GemmConfig c : base) (c.path() == GemmConfig.Path.WGMMA ? wgmma : other).add(c);
        List<List<GemmConfig>> families = List.of(wgmma, other, fill);
        Map<String, GemmConfig> out = new LinkedHashMap<>();
        GemmConfig def = choose(p);
        out.put(def.label(), def);
        for (int i = 0; out.size() < n && i < base.size() + fill.size(); i++)
            for (List<GemmConfig> f : families)
                if (i < f.size() && out.size() < n) out.putIfAbsent(f.get(i).label(), f.get(i));
        return new ArrayList<>(out.values()).subList(0, Math.min(n, out.size()));
    }

    /** The heuristic's ranking; for large maps with ties broken toward fewer padding outputs, then bigger tiles. */
    static List<GemmConfig> ranked(GemmProblem p) {
        List<GemmConfig> r = new ArrayList<>(GemmHeuristic.ranked(p, 32)); // the cost model's: a pointwise conv's plain operands must not get the matmul lists
        if (p.m() < GemmHeuristic.LARGE_M) return r;
        // estimates within 2% are one bucket: the model cannot tell them apart
        r.sort(Comparator.comparingLong((GemmConfig c) -> Math.round(Math.log(GemmHeuristic.cost(p, c)) / Math.log(1.02)))
                .thenComparingLong(c -> c.tiles(p) * c.bm() * c.bn()).thenComparingLong(c -> -(long) c.bm() * c.bn()));
        return r;
    }

    static long blocks(GemmProblem p, GemmConfig c) { return c.tiles(p) * c.splits(p); }

    /** Split-K variants of the ranked shapes that fill at least half the SMs (at most twice over), cheapest first. */
    private static List<GemmConfig> fill(GemmProblem p, List<GemmConfig> base) {
        List<GemmConfig> out = new ArrayList<>();
        for (GemmConfig b : base) {
            GemmConfig one = b.withSplitK(1);
            if (blocks(p, one) * 2 >= p.smCount()) {
                if (b.splits(p) == 1 && !out.contains(one)) out.add(one); // fills the GPU unsplit
                continue;
            }
            GemmConfig best = null;
            for (int s : SPLITS) {
                GemmConfig c = one.withSplitK(s);
                if (c.splits(p) != s || !c.validFor(p)) continue;
                long bl = blocks(p, c);
                if (bl * 2 < p.smCount() || bl > 2L * p.smCount()) continue;
                if (best == null || GemmHeuristic.cost(p, c) < GemmHeuristic.cost(p, best)) best = c;
            }
            if (best != null) out.add(best);
        }
        // equal estimates (latency-bound): the tile that computes the fewest padding outputs, then the most blocks
        out.sort(Comparator.comparingDouble((GemmConfig c) -> GemmHeuristic.cost(p, c)).thenComparingLong(c -> c.tiles(p) * c.bm() * c.bn())
                .thenComparingLong(c -> -blocks(p, c)));
        return out;
    }

    private static List<GemmConfig> usable(GemmProblem p, List<GemmConfig> ranked) {
        if (p.asyncA() || p.sm() < 80) return ranked;
        List<GemmConfig> out = new ArrayList<>();
        for (GemmConfig c : ranked)
            if ((long) c.bm() * c.bk() <= 16L * c.threads() && (long) c.bm() * c.bn() <= 128 * 128) out.add(c);
        return out.isEmpty() ? ranked : out;
    }
}
