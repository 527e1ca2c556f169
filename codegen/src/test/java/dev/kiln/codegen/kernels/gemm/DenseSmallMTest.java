package dev.kiln.codegen.kernels.gemm;

import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.NvccPtx;
import dev.kiln.ir.DType;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The transformer shapes' defaults and candidates ({@link DenseSmallM}): per shape class the default is the
 * config the H200 measured fastest (the transposed TMA loop, bench/results/2026-11-29-h200-s7/), the candidates
 * start with the fast four and keep the earlier cp.async tiles (the 64x64 wgmma tile among the four, the ragged-M
 * balancing tiles later), the new kernel forms compute right on the simulator, and every candidate compiles for
 * sm_90a without spills.
 */
class DenseSmallMTest {
    static final CodegenOptions OPT = CodegenOptions.defaults();

    static final long[][] MODEL = {{768, 768}, {2304, 768}, {3072, 768}, {768, 3072}, {1024, 1024}, {3072, 1024}, {4096, 1024}, {1024, 4096}};

    static GemmProblem dense(long m, long n, long k) { return GemmHeuristicTest.dense(DType.F16, OPT, m, n, k); }

    @Test void rowTilesAreAtMostEightyInStepsOfEight() {
        long[][] want = {{1, 8}, {17, 24}, {64, 64}, {80, 80}, {81, 48}, {128, 64}, {145, 80}, {160, 80}, {161, 56}, {197, 72}, {256, 64}};
        for (long[] w : want) assertEquals(w[1], DenseSmallM.rows(dense(w[0], 768, 768)), "M = " + w[0]);
    }

    @Test void defaultsFollowTheMeasuredWinnersPerShapeClass() {
        // WIDE and FEW: the transposed TMA loop, one consumer warpgroup, R x 64 tiles, twelve stages, no split
        for (long m : new long[] {128, 145})
            for (long[] nk : MODEL) {
                GemmProblem p = dense(m, nk[0], nk[1]);
                if (DenseSmallM.shape(p) == DenseSmallM.Shape.LONG_K) continue;
                assertEquals("wgmma_tma_t " + (m == 128 ? 64 : 80) + "x64x64 w4x1 s12 k1", GemmHeuristic.choose(p).label(), p.toString());
            }
        assertEquals(DenseSmallM.Shape.WIDE, DenseSmallM.shape(dense(145, 3072, 1024)));
        assertEquals(DenseSmallM.Shape.FEW, DenseSmallM.shape(dense(145, 1024, 1024)));
        // LONG_K: the same tile in six stages, split to fill one wave (one block per SM: the TMA kernel's launch
        // takes the register file)
        long[][] longK = {{128, 768, 3072, 5}, {128, 1024, 4096, 4}, {145, 768, 3072, 5}, {145, 1024, 4096, 4}};
        for (long[] s : longK) {
            GemmProblem p = dense(s[0], s[1], s[2]);
            assertEquals(DenseSmallM.Shape.LONG_K, DenseSmallM.shape(p), p.toString());
            GemmConfig c = GemmHeuristic.choose(p);
            assertEquals("wgmma_tma_t " + DenseSmallM.rows(p) + "x64x64 w4x1 s6", c.withSplitK(1).label().replace(" k1", ""), p.toString());
            assertEquals(DenseSmallM.fillSplit(p, c.withSplitK(1)), c.splitK(), p.toString());
            assertEquals(s[3], c.splits(p), p.toString());
            assertTrue(c.tiles(p) * c.splits(p) <= p.smCount(), c + ": one wave");
        }
    }

    /** The fast four lead every list (fast tuning times four) with a cp.async wgmma tile among them; ragged-M WIDE shapes get the balancing tiles later. */
    @Test void fastFourFirstThenTheRaggedTiles() {
        for (long m : new long[] {128, 145})
            for (long[] nk : MODEL) {
                GemmProblem p = dense(m, nk[0], nk[1]);
                List<GemmConfig> cs = DenseSmallM.candidates(p);
                List<String> first4 = cs.subList(0, 4).stream().map(GemmConfig::label).toList();
                assertTrue(cs.subList(0, 4).stream().anyMatch(c -> c.path() == GemmConfig.Path.WGMMA && c.bm() == 64 && c.bn() == 64),
                        "the earlier 64x64 wgmma tile is timed: " + first4);
                assertTrue(cs.subList(0, 2).stream().allMatch(c -> c.path() == GemmConfig.Path.WGMMA_TMA_T), "the transposed loop leads: " + first4);
                boolean raggedWide = DenseSmallM.shape(p) == DenseSmallM.Shape.WIDE && DenseSmallM.ragged(p);
                assertEquals(m == 145 && DenseSmallM.shape(p) == DenseSmallM.Shape.WIDE, raggedWide);
                assertEquals(raggedWide, cs.stream().anyMatch(c -> c.bm() == 192), p + ": " + cs);
                assertTrue(cs.subList(0, 4).stream().noneMatch(c -> c.bm() == 192), "the balancing tiles come after the fast four");
            }
    }

    @Test void splitKFillsOneWaveAndNoMore() {
        for (long[] s : new long[][] {{128, 768, 3072}, {128, 1024, 4096}, {145, 768, 3072}, {145, 1024, 4096}}) {
            GemmProblem p = dense(s[0], s[1], s[2]);
            for (GemmConfig c : DenseSmallM.candidates(p)) {
                if (c.splits(p) == 1) continue;
                long blocks = c.tiles(p) * c.splits(p);
                assertTrue(blocks <= 2L * p.smCount(), c + ": " + blocks + " blocks");
                assertTrue(c.kTilesPerSplit(p) >= 2, c + " gives each split at least two k tiles");
                assertTrue((long) c.splits(p) * c.bm() * c.bn() * 4 <= DenseSmallM.MAX_PARTIALS, c + ": the last block reads few partials");
                // the next split count would pass the wave (or run out of k tiles, or give too many partials)
                int next = java.util.Arrays.stream(GemmHeuristic.SPLITS).filter(x -> x > c.splitK()).findFirst().orElseThrow();
                GemmConfig more = c.withSplitK(next);
                assertTrue(more.tiles(p) * more.splits(p) > blocks || more.kTilesPerSplit(p) < 2 || more.splits(p) == c.splits(p)
                        || (long) more.splits(p) * c.bm() * c.bn() * 4 > DenseSmallM.MAX_PARTIALS, c.toString());
            }
        }
    }

    @Test void candidatesStartWithTheDefaultAndOfferWgmma() throws IOException {
        StringBuilder table = new StringBuilder("dense small-M candidates (f16, 132 SMs), default first: config (blocks)\n");
        for (long m : new long[] {128, 145})
            for (long[] nk : MODEL) {
                GemmProblem p = dense(m, nk[0], nk[1]);
                List<GemmConfig> cs = GemmHeuristic.candidates(p, 8);
                table.append(String.format("%d x %d x %d %s:", m, nk[0], nk[1], DenseSmallM.shape(p)));
                for (GemmConfig c : cs) table.append(String.format("  %s (%d)", c.label(), c.tiles(p) * c.splits(p)));
                table.append('\n');
                assertEquals(8, cs.size());
                assertEquals(GemmHeuristic.choose(p), cs.get(0));
                assertTrue(cs.subList(0, 4).stream().anyMatch(c -> c.path() == GemmConfig.Path.WGMMA), "fast tuning times a wgmma tile: " + cs);
                assertEquals(cs.size(), cs.stream().map(GemmConfig::label).distinct().count());
                for (GemmConfig c : cs) assertNull(c.invalidReason(p), c.toString());
            }
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target", "dense-small-m-candidates.txt"), table);
        // not for convs' operands, older GPUs, fp32 or the LM head: those keep the cost model's ranking
        GemmProblem ampere = GemmHeuristicTest.dense(DType.F16, new CodegenOptions(false, "sm_80"), 128, 3072, 768);
        assertFalse(DenseSmallM.applies(ampere));
        assertEquals(GemmHeuristic.ranked(ampere, 8), GemmHeuristic.candidates(ampere, 8));
        assertFalse(DenseSmallM.applies(dense(128, 50257, 768)));
        assertFalse(DenseSmallM.applies(GemmHeuristicTest.dense(DType.F32, new CodegenOptions(true, "sm_90"), 128, 3072, 768)));
    }

    static GemmConfig wgmma(int bm, int bn, int warps, int stages, int split) {
        return new GemmConfig(GemmConfig.Path.WGMMA, bm, bn, 64, warps, 1, stages, split);
    }

    /** The small wgmma forms: one warpgroup on 64 rows, one on 128 (two m64 tiles), two on 128, three on 192; with split-K and ragged M. */
    @Test void smallWgmmaTilesComputeRightOnTheSimulator() {
        GemmSimTest.dense(DType.F16, OPT, 145, 192, 640, true, false, wgmma(64, 64, 4, 6, 3));
        GemmSimTest.dense(DType.F16, OPT, 145, 256, 384, true, true, wgmma(64, 128, 4, 6, 1));
        GemmSimTest.dense(DType.F16, OPT, 128, 128, 512, true, false, wgmma(128, 64, 4, 6, 2));
        GemmSimTest.dense(DType.BF16, OPT, 130, 128, 576, true, false, wgmma(128, 64, 8, 6, 2));
        GemmSimTest.dense(DType.F16, OPT, 64, 64, 1024, true, false, wgmma(64, 64, 4, 8, 1));
        // three warpgroups on 192 rows (M = 145 in one row tile), split and not, both B majors; 64x64 in 4 stages split
        GemmSimTest.dense(DType.F16, OPT, 145, 192, 512, true, false, wgmma(192, 64, 12, 4, 2));
        GemmSimTest.dense(DType.BF16, OPT, 145, 128, 384, true, true, wgmma(192, 64, 12, 4, 1));
        GemmSimTest.dense(DType.F16, OPT, 145, 128, 576, true, true, wgmma(64, 64, 4, 4, 2));
    }

    /** The classic tile with bk 128 and no sliced-K, and the fill splits the lists give. */
    @Test void newMmaFormsComputeRightOnTheSimulator() {
        GemmSimTest.dense(DType.F16, OPT, 145, 128, 768, true, false, GemmConfig.parse("mma 64x64x128 w2x2 s3 k2"));
        GemmSimTest.dense(DType.F16, OPT, 128, 64, 1024, true, false, GemmConfig.parse("mma 32x64x64 w1x2x2 s6 k4"));
        // N-narrow tiles (48 and 96 columns: 6 mma columns per warp), ragged N and M, both B majors
        GemmSimTest.dense(DType.F16, OPT, 145, 200, 320, true, false, GemmConfig.parse("mma 32x96x64 w2x2 s4 k1"));
        GemmSimTest.dense(DType.F16, OPT, 128, 144, 384, true, true, GemmConfig.parse("mma 32x96x64 w2x2 s4 k2"));
        GemmSimTest.dense(DType.F16, OPT, 130, 100, 256, true, false, GemmConfig.parse("mma 64x48x64 w4x1 s4 k1"));
        GemmSimTest.dense(DType.BF16, OPT, 64, 96, 448, true, true, GemmConfig.parse("mma 64x48x64 w4x1 s4 k3"));
    }

    /** Every candidate of every model shape compiles for sm_90a (f16; B [K,N] and B^T) with no spills. */
    @Test void everyCandidateCompilesWithoutSpills() throws IOException {
        NvccPtx.nvccOrSkip();
        Map<String, String> what = new LinkedHashMap<>();
        List<String> sources = new ArrayList<>();
        java.util.Set<String> kinds = new java.util.HashSet<>();
        for (long m : new long[] {128, 145})
            for (long[] nk : MODEL)
                for (boolean bK : new boolean[] {false, true}) {
                    GemmProblem p = GemmCompileTest.problem(DType.F16, OPT, new long[] {m, nk[0], nk[1]}, bK);
                    for (GemmConfig c : DenseSmallM.candidates(p)) {
                        String kind = c.label() + bK + (p.m() % c.bm() == 0) + (c.splits(p) > 1);
                        if (!kinds.add(kind)) continue;
                        String entry = "d" + sources.size();
                        sources.add(GemmSim.kernel(p, c, entry).source());
                        what.put(entry, String.format("%4d x %5d x %5d %-4s %-28s split %d", m, nk[0], nk[1], bK ? "B^T" : "B", c.label(), c.splits(p)));
                    }
                }
        // in batches: one nvcc run over every kernel can pass NvccPtx's 300 s limit on a loaded machine
        Map<String, NvccPtx.Resources> res = new LinkedHashMap<>();
        for (int i = 0; i < sources.size(); i += 16) res.putAll(NvccPtx.resources(sources.subList(i, Math.min(sources.size(), i + 16)), "sm_90a"));
        StringBuilder table = new StringBuilder("dense small-M candidates, f16, sm_90a\n");
        for (var e : what.entrySet()) {
            NvccPtx.Resources r = res.get(e.getKey());
            assertTrue(r != null, "ptxas reported nothing for " + e.getValue());
            table.append(e.getValue()).append("  regs ").append(r.registers()).append(r.spillStores() + r.spillLoads() > 0 ? "  SPILLS" : "").append('\n');
        }
        Path out = Path.of("target", "gemm-registers-dense-small-m.txt");
        Files.createDirectories(out.getParent());
        Files.writeString(out, table);
        for (var e : what.entrySet())
            assertEquals(0, res.get(e.getKey()).spillStores() + res.get(e.getKey()).spillLoads(), "spills in " + e.getValue());
    }
}
