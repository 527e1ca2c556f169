package dev.kiln.codegen.kernels.gemm;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Picks a {@link GemmConfig} for a problem without running anything (the AOT default, and the pruning step
 * before an autotuner times {@link #candidates}). Every tile shape of the path is tried with every split
 * count that keeps its scratch small; each is scored by {@link #cost}, a rough time in microseconds on the
 * target: per SM, the slowest of tensor/FMA throughput, L2-to-SM traffic and the memory latency a block's
 * pipeline cannot hide (a block keeps stages-1 tiles in flight), against HBM traffic for the whole problem,
 * plus the cost of split-K's partial sums and the launch. The grid filling all SMs falls out of it: few
 * large tiles leave SMs idle, so smaller tiles or more splits win until their overheads dominate.
 */
public final class GemmHeuristic {
    private GemmHeuristic() {}

    /** Tensor-core tiles: bm, bn, bk, warpsM, warpsN, stages. */
    static final int[][] MMA_TILES = {
            {128, 256, 32, 2, 4, 3}, {256, 128, 32, 4, 2, 3}, {128, 256, 64, 2, 4, 3}, {128, 128, 32, 2, 4, 4},
            {128, 128, 32, 2, 2, 4}, {128, 128, 64, 2, 2, 3},
            {128, 64, 32, 2, 2, 4}, {64, 128, 32, 2, 2, 4}, {64, 64, 32, 2, 2, 4}, {64, 64, 64, 2, 2, 4},
            {32, 128, 64, 1, 4, 4}, {32, 64, 64, 1, 2, 4}, {16, 128, 64, 1, 4, 4}, {16, 64, 64, 1, 2, 4},
    };

    /**
     * Tall tensor-core tiles offered for problems with at least {@link #LARGE_M} rows (implicit-GEMM
     * convs: thousands of output pixels by 64-256 channels): bm, bn, bk, warpsM, warpsN, stages. Taller tiles
     * at bn 64 halve the B re-reads per output and give 8 warps per block; bk 64 halves the pipeline steps of
     * a short K (the stem's 392).
     */
    static final int[][] LARGE_M_TILES = {
            {256, 64, 32, 4, 2, 3}, {128, 64, 32, 4, 2, 4}, {128, 64, 64, 2, 2, 3}, {256, 64, 64, 4, 2, 3}, {256, 128, 64, 4, 2, 3},
    };

    /**
     * Small-M tensor-core tiles (offered when the problem has at most {@link #SMALL_M} rows): bm, bn, bk, warpsM,
     * warpsN, stages, warpsK. Few output tiles leave each SM one block of 2-4 warps waiting on memory; these
     * keep more k in flight per block (bk 128, deeper rings) and compute each stage with warpsK groups of
     * warps (sliced-K), so a block has 8-16 warps and its serial k loop is shorter.
     */
    static final int[][] SMALL_M_TILES = {
            {64, 64, 64, 2, 2, 4, 2}, {64, 64, 128, 2, 2, 3, 2}, {64, 64, 128, 2, 2, 4, 4}, {64, 64, 64, 2, 2, 6, 1},
            {32, 64, 128, 1, 2, 4, 4}, {32, 64, 64, 1, 2, 6, 2}, {32, 128, 128, 1, 4, 3, 2}, {64, 128, 64, 2, 2, 4, 2},
            {128, 64, 64, 4, 2, 4, 2}, {128, 64, 128, 4, 2, 3, 2}, {128, 128, 64, 4, 4, 4, 1},
    };

    /** Rows up to which {@link #SMALL_M_TILES} are offered (above 16, where the skinny path and 16-row tiles serve). */
    static final int SMALL_M = 256;

    /**
     * Rows from which the large-map tiles are offered: {@link #LARGE_M_TILES}, and the wgmma path's for N, K >= 64
     * (implicit-GEMM convs over thousands of output pixels; ConvTuning breaks cost ties from here on too).
     */
    public static final long LARGE_M = 4096;

    /** Few rows (above 16) and few output tiles: at most 4 per SM at 64 x 64 (the LM head's 50257 columns are not). */
    static boolean smallM(GemmProblem p) {
        return p.math().tensorCores() && p.m() > 16 && p.m() <= SMALL_M && (double) p.m() * p.n() * p.batches() / (64 * 64) <= 4.0 * p.smCount();
    }

    static boolean isSmallMTile(GemmConfig c) {
        for (int[] t : SMALL_M_TILES)
            if (c.path() == GemmConfig.Path.MMA && c.bm() == t[0] && c.bn() == t[1] && c.bk() == t[2] && c.warpsM() == t[3] && c.warpsN() == t[4]
                    && c.stages() == t[5] && c.warpsK() == t[6]) return true;
        return false;
    }

    /** CUDA-core tiles: bm, bn, bk, warps, stages (thread tile = bm bn / threads). */
    static final int[][] SIMT_TILES = {
            {128, 128, 16, 8, 3}, {128, 64, 16, 4, 3}, {64, 128, 16, 4, 3}, {64, 64, 16, 8, 3},
            {64, 64, 32, 4, 3}, {32, 64, 32, 2, 3}, {16, 64, 32, 2, 3},
    };

    /** Skinny: bn, warps, k rows per step. */
    static final int[][] SKINNY_TILES = {{256, 8, 32}, {256, 8, 64}, {256, 8, 128}, {128, 4, 64}, {128, 8, 128}, {64, 4, 128}, {512, 8, 64}};

    static final int[] SPLITS = {1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 24, 32, 48, 64};

    /** Scratch for split-K partial sums is kept under this many bytes. */
    static final long MAX_WORKSPACE = 64L << 20;

    /** The config the heuristic ranks first. */
    public static GemmConfig choose(GemmProblem p) {
        List<GemmConfig> tma = tma(p);
        if (!tma.isEmpty()) return tma.get(0);
        GemmConfig measured = DenseSmallM.applies(p) ? DenseSmallM.choose(p) : null;
        return measured != null ? measured : chooseByCost(p);
    }

    /** The cost model's first config, without {@link DenseSmallM}'s measured defaults (ConvTuning builds on it). */
    public static GemmConfig chooseByCost(GemmProblem p) {
        List<GemmConfig> c = ranked(p, 1);
        if (c.isEmpty()) throw new IllegalStateException("no GEMM config fits " + p);
        return c.get(0);
    }

    /**
     * Up to {@code n} configs, best first, one per tile shape (each with its best split count). A plain small-M
     * f16/bf16 GEMM on Hopper (the transformer shapes) gets {@link DenseSmallM}'s measured default and list first. For small M
     * ({@link #smallM}) a small-M tile may also come with a second split count, the cheapest that puts a block
     * on every SM, and the list mixes the small-M tiles and the others (see the end of the method).
     */
    public static List<GemmConfig> candidates(GemmProblem p, int n) {
        List<GemmConfig> tma = tma(p);
        if (!tma.isEmpty()) { // the TMA tiles first (they are the choice), then the cost model's others
            Map<String, GemmConfig> out = new LinkedHashMap<>();
            for (GemmConfig c : tma) out.putIfAbsent(c.label(), c);
            for (GemmConfig c : ranked(p, n)) out.putIfAbsent(c.label(), c);
            return new ArrayList<>(out.values()).subList(0, Math.min(n, out.size()));
        }
        if (DenseSmallM.applies(p)) {
            // the measured default and its class's list first, then the cost model's ranking
            Map<String, GemmConfig> out = new LinkedHashMap<>();
            for (GemmConfig c : DenseSmallM.candidates(p)) out.putIfAbsent(c.label(), c);
            for (GemmConfig c : ranked(p, n)) out.putIfAbsent(c.label(), c);
            return new ArrayList<>(out.values()).subList(0, Math.min(n, out.size()));
        }
        return ranked(p, n);
    }

    /** The cost model's ranking (see {@link #candidates}), without {@link DenseSmallM}'s lists (ConvTuning builds on it). */
    public static List<GemmConfig> ranked(GemmProblem p, int n) {
        Map<String, GemmConfig> best = new LinkedHashMap<>();
        Map<String, Double> cost = new LinkedHashMap<>();
        boolean small = smallM(p);
        for (GemmConfig c : space(p)) {
            if (!c.validFor(p) || workspace(p, c) > MAX_WORKSPACE) continue;
            // small M: a small-M tile's best split that puts a block on every SM is a candidate of its own
            boolean fills = small && isSmallMTile(c) && c.splits(p) > 1 && c.tiles(p) * c.splits(p) >= p.smCount();
            String shape = c.withSplitK(1).label() + (fills ? " filling" : "");
            double t = cost(p, c);
            if (!cost.containsKey(shape) || t < cost.get(shape)) {
                cost.put(shape, t);
                best.put(shape, c);
            }
        }
        Comparator<GemmConfig> rank = Comparator.comparingDouble((GemmConfig c) -> cost(p, c)).thenComparingInt(c -> c.splits(p));
        List<GemmConfig> r = new ArrayList<>(new java.util.LinkedHashSet<>(best.values()));
        r.sort(rank);
        if (!smallM(p)) return r.subList(0, Math.min(n, r.size()));
        // Small M is latency bound, where the cost model is least sure: the autotuner gets the best of both
        // families, the many-warp / deep small-M tiles and the classic ones, alternately (then ranked by cost).
        List<GemmConfig> fresh = new ArrayList<>(), classic = new ArrayList<>(), out = new ArrayList<>();
        for (GemmConfig c : r) (isSmallMTile(c) ? fresh : classic).add(c);
        // and unless one of its first two already puts a block on every SM, the best that does comes second
        // (the model's split-K overhead is a guess)
        java.util.function.Predicate<GemmConfig> fills = c -> c.tiles(p) * c.splits(p) >= p.smCount();
        if (fresh.stream().limit(2).noneMatch(fills))
            for (int i = 2; i < fresh.size(); i++)
                if (fills.test(fresh.get(i))) {
                    fresh.add(1, fresh.remove(i));
                    break;
                }
        boolean first = !r.isEmpty() && isSmallMTile(r.get(0));
        for (int i = 0; out.size() < Math.min(n, r.size()); i++) {
            List<GemmConfig> a = first ? fresh : classic, b = first ? classic : fresh;
            if (i < a.size()) out.add(a.get(i));
            if (i < b.size() && out.size() < n) out.add(b.get(i));
        }
        out.sort(rank);
        return out;
    }

    /**
     * The TMA path's tiles ({@link WgmmaKernel#TMA_TILES}), each with its cheapest split count, cheapest first;
     * empty unless {@link WgmmaKernel#tmaOffered} (so {@code -Dkiln.tma=true}). Not part of {@link #space}: the
     * convolutions' ranking must not see it.
     */
    static List<GemmConfig> tma(GemmProblem p) {
        if (!WgmmaKernel.tmaOffered(p)) return List.of();
        List<GemmConfig> out = new ArrayList<>();
        for (int[] t : WgmmaKernel.TMA_TILES) {
            GemmConfig best = null;
            for (int k : SPLITS) {
                GemmConfig c = new GemmConfig(GemmConfig.Path.WGMMA_TMA, t[0], t[1], WgmmaKernel.BK, 8, 1, t[2], k);
                if (k > 1 && c.splits(p) < k) break;
                if (c.validFor(p) && workspace(p, c) <= MAX_WORKSPACE && (best == null || cost(p, c) < cost(p, best))) best = c;
            }
            if (best != null) out.add(best);
        }
        out.sort(Comparator.comparingDouble((GemmConfig c) -> cost(p, c)));
        return out;
    }

    /** Every config of the paths that serve {@code p}'s math, with every split count. */
    static List<GemmConfig> space(GemmProblem p) {
        List<GemmConfig> out = new ArrayList<>();
        List<GemmConfig> shapes = new ArrayList<>();
        if (p.math().tensorCores()) {
            for (int[] t : MMA_TILES) shapes.add(new GemmConfig(GemmConfig.Path.MMA, t[0], t[1], t[2], t[3], t[4], t[5], 1));
            if (p.m() >= LARGE_M)
                for (int[] t : LARGE_M_TILES) shapes.add(new GemmConfig(GemmConfig.Path.MMA, t[0], t[1], t[2], t[3], t[4], t[5], 1));
            if (smallM(p))
                for (int[] t : SMALL_M_TILES) shapes.add(new GemmConfig(GemmConfig.Path.MMA, t[0], t[1], t[2], t[3], t[4], t[5], 1, t[6]));
        } else
            for (int[] t : SIMT_TILES) shapes.add(new GemmConfig(GemmConfig.Path.SIMT, t[0], t[1], t[2], t[3], 1, t[4], 1));
        if (WgmmaKernel.offered(p)) // wgmma hook
            for (int[] t : WgmmaKernel.tiles(p)) shapes.add(new GemmConfig(GemmConfig.Path.WGMMA, t[0], t[1], WgmmaKernel.BK, t[2], 1, t[3], 1));
        if (p.m() <= 16 && p.b().major() == GemmOperand.Major.MN)
            for (int[] t : SKINNY_TILES) shapes.add(new GemmConfig(GemmConfig.Path.SKINNY, 16, t[0], t[2], 1, t[1], 1, 1));
        for (GemmConfig s : shapes)
            for (int k : SPLITS) {
                GemmConfig c = s.withSplitK(k);
                if (k > 1 && c.splits(p) < k) break; // more splits than k tiles
                out.add(c);
            }
        return out;
    }

    static long workspace(GemmProblem p, GemmConfig c) {
        return c.splits(p) == 1 ? 0 : GemmKernels.launch(p, c, c.tilesM(p) * c.tilesN(p), c.splits(p)).workspaces().get(0).bytes();
    }

    // the machine, per SM and per microsecond (H100/H200-class numbers; relative costs are what matter)
    static final double LATENCY_US = 0.7, LAUNCH_US = 2.0, HBM_BYTES_US = 3.8e6, L2_BYTES_US_SM = 1.0e5;

    static double peakFlopsPerSm(GemmMath m) {
        return switch (m) {
            case F16, BF16 -> 5.0e6;     // mma.sync reaches about 2/3 of the dense tensor peak
            case TF32 -> 2.5e6;
            case F32, F16_SIMT, BF16_SIMT -> 0.45e6;
            case F64 -> 0.23e6;
        };
    }

    /** Estimated run time in microseconds. */
    public static double cost(GemmProblem p, GemmConfig c) {
        int sms = Math.max(1, p.smCount()), splits = c.splits(p), eb = p.math().elemBytes();
        long tiles = c.tiles(p), blocks = tiles * splits;
        double perSm = Math.ceil((double) blocks / sms);
        int occ = occupancy(p, c);
        double conc = Math.min(occ, perSm);
        double kPerBlock = (double) c.kTilesPerSplit(p) * c.bk();
        double hbm = (p.a().footprint(p.m(), p.k()) + p.k() * p.n() + 2.0 * p.m() * p.n()) * eb * p.batches() / HBM_BYTES_US;
        double sm;
        if (c.path() == GemmConfig.Path.SKINNY) {
            double bytesBlock = c.bn() * kPerBlock * eb;
            int cw = c.skinnyColumnsPerThread(p), kl = c.threads() / (c.bn() / cw), u = c.bk() / kl;
            double inFlight = conc * c.threads() * u * cw * eb;
            double fma = perSm * 2.0 * Math.max(1, p.m()) * c.bn() * kPerBlock / peakFlopsPerSm(GemmMath.F32);
            sm = Math.max(fma, Math.max(perSm * bytesBlock / (inFlight / LATENCY_US), perSm * bytesBlock / L2_BYTES_US_SM)) + LATENCY_US;
        } else {
            // one or two warps per scheduler cannot keep the tensor (or FMA) pipes busy through load latencies
            double warpsPerSm = conc * c.threads() / 32.0, hiding = Math.min(1.0, 0.5 + warpsPerSm / 16);
            double peak = c.wgmma() ? WgmmaKernel.PEAK_FLOPS_PER_SM : peakFlopsPerSm(p.math()); // wgmma hook
            double flops = perSm * 2.0 * c.bm() * c.bn() * kPerBlock / (peak * efficiency(p, c) * hiding);
            double tileBytes = (double) (c.bm() + c.bn()) * c.bk() * eb;
            double l2 = perSm * tileBytes * c.kTilesPerSplit(p) / L2_BYTES_US_SM;
            double latency = Math.ceil(perSm / conc) * (c.kTilesPerSplit(p) * LATENCY_US / (c.stages() - 1) + 2 * LATENCY_US);
            sm = Math.max(flops, Math.max(l2, latency));
            if (!p.asyncA() || !p.asyncB()) sm *= 1.5; // register staging exposes load latency
        }
        double split = 0;
        if (splits > 1) {
            double part = (double) workspace(p, c) / (tiles * splits); // one block's partial sums
            split = 2 * tiles * splits * part / (L2_BYTES_US_SM * sms) + splits * part / L2_BYTES_US_SM + 2 * LATENCY_US;
        }
        return Math.max(sm, hbm) + split + LAUNCH_US;
    }

    /** Fraction of the peak a tile's shape allows: shared-memory operand traffic per multiply-add. */
    static double efficiency(GemmProblem p, GemmConfig c) {
        if (c.path() == GemmConfig.Path.MMA) {
            double tm = (double) c.bm() / c.warpsM(), tn = (double) c.bn() / c.warpsN();
            return Math.min(1.0, tm * tn / (tm + tn) / 32);
        }
        int per = c.bm() * c.bn() / c.threads();
        return per >= 64 ? 0.85 : per >= 32 ? 0.7 : 0.5;
    }

    /** Blocks resident per SM, limited by threads, registers and shared memory. */
    static int occupancy(GemmProblem p, GemmConfig c) {
        int smemSm = p.sm() >= 90 ? 228 * 1024 : p.sm() == 80 ? 164 * 1024 : 100 * 1024;
        int byThreads = 2048 / c.threads();
        int byRegs = 65536 / (Math.min(255, c.registers(p)) * c.threads());
        int bySmem = c.sharedBytes(p) == 0 ? 32 : smemSm / (c.sharedBytes(p) + 1024);
        return Math.max(1, Math.min(32, Math.min(byThreads, Math.min(byRegs, bySmem))));
    }
}
