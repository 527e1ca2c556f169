package dev.kiln.codegen.kernels.gemm;

import dev.kiln.codegen.CodegenOptions;
import dev.kiln.ir.DType;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Configs as data: validity rules, labels, and what the heuristic must do with the SM count and the math. */
class GemmHeuristicTest {
    static GemmProblem dense(DType t, CodegenOptions o, long m, long n, long k) {
        return GemmProblem.of(m, n, k, new long[0], StridedOperand.dense("in0", t, m, k, true), StridedOperand.dense("in1", t, n, k, false), o);
    }

    static final CodegenOptions OPT = CodegenOptions.defaults();

    @Test void labelsParseBack() {
        for (GemmProblem p : List.of(dense(DType.F16, OPT, 128, 768, 768), dense(DType.F32, OPT, 1, 1000, 2048)))
            for (GemmConfig c : GemmHeuristic.candidates(p, 20)) assertEquals(c, GemmConfig.parse(c.label()));
        assertThrows(IllegalArgumentException.class, () -> GemmConfig.parse("mma 128x128"));
    }

    @Test void invalidConfigsSayWhy() {
        GemmProblem f16 = dense(DType.F16, OPT, 128, 768, 768), f32 = dense(DType.F32, OPT, 128, 768, 768);
        assertTrue(new GemmConfig(GemmConfig.Path.MMA, 64, 64, 32, 2, 2, 3, 1).invalidReason(f32).contains("MMA needs"));
        assertTrue(new GemmConfig(GemmConfig.Path.SIMT, 64, 64, 16, 8, 1, 3, 1).invalidReason(f16).contains("SIMT serves"));
        assertTrue(new GemmConfig(GemmConfig.Path.MMA, 48, 64, 32, 2, 2, 3, 1).invalidReason(f16).contains("multiple of 16"));
        assertTrue(new GemmConfig(GemmConfig.Path.MMA, 256, 256, 64, 2, 2, 6, 1).invalidReason(f16).contains("shared memory"));
        assertTrue(new GemmConfig(GemmConfig.Path.SKINNY, 16, 256, 32, 1, 8, 1, 1).invalidReason(f16).contains("m <= bm"));
        GemmProblem kMajorB = GemmProblem.of(4, 64, 64, new long[0], StridedOperand.dense("in0", DType.F16, 4, 64, true),
                StridedOperand.dense("in1", DType.F16, 64, 64, true), OPT);
        assertTrue(new GemmConfig(GemmConfig.Path.SKINNY, 16, 256, 32, 1, 8, 1, 1).invalidReason(kMajorB).contains("n-contiguous"));
        // more than 48 KB is allowed on sm_90 (dynamic shared memory), not more than the 227 KB a block may have
        GemmConfig big = new GemmConfig(GemmConfig.Path.MMA, 128, 256, 64, 2, 4, 3, 1);
        assertTrue(big.sharedBytes(f16) > 48 * 1024);
        assertNull(big.invalidReason(f16));
    }

    @Test void candidatesAreDistinctShapesBestFirst() {
        // on sm_80: on Hopper this shape gets DenseSmallM's measured list, not the cost model's ranking
        GemmProblem p = dense(DType.F16, new CodegenOptions(false, "sm_80"), 145, 3072, 768);
        List<GemmConfig> cs = GemmHeuristic.candidates(p, 8);
        assertEquals(8, cs.size());
        assertEquals(GemmHeuristic.choose(p), cs.get(0));
        Set<String> shapes = new HashSet<>(), labels = new HashSet<>();
        for (int i = 0; i < cs.size(); i++) {
            assertNull(cs.get(i).invalidReason(p));
            assertTrue(labels.add(cs.get(i).label()), "distinct configs");
            // one entry per tile shape, but for small M a second split count that fills the GPU
            boolean fills = cs.get(i).tiles(p) * cs.get(i).splits(p) >= p.smCount() && cs.get(i).splits(p) > 1;
            assertTrue(shapes.add(cs.get(i).withSplitK(1).label() + (fills ? " filling" : "")), "one entry per tile shape: " + cs);
            if (i > 0) assertTrue(GemmHeuristic.cost(p, cs.get(i - 1)) <= GemmHeuristic.cost(p, cs.get(i)));
        }
    }

    /** Output tiles alone would leave most SMs idle: smaller tiles or split-K bring the grid to (nearly) every SM. */
    @Test void smallOutputsWithLongKFillTheGpu() {
        for (long[] s : new long[][] {{128, 768, 3072}, {128, 1024, 4096}, {1, 1000, 2048}, {145, 768, 3072}}) {
            GemmProblem p = dense(DType.F16, OPT, s[0], s[1], s[2]);
            GemmConfig c = GemmHeuristic.choose(p);
            assertTrue(c.tiles(p) * c.splits(p) >= 0.9 * OPT.smCount(), c + " runs " + c.tiles(p) * c.splits(p) + " blocks for " + p);
        }
    }

    @Test void fewerSmsNeedFewerBlocks() {
        GemmProblem many = dense(DType.F16, OPT, 128, 768, 3072), few = dense(DType.F16, new CodegenOptions(false, "sm_90", 16), 128, 768, 3072);
        GemmConfig a = GemmHeuristic.choose(many), b = GemmHeuristic.choose(few);
        assertTrue(a.tiles(many) * a.splits(many) > b.tiles(few) * b.splits(few), a + " on 132 SMs vs " + b + " on 16");
    }

    @Test void largeSquareProblemsUseLargeTilesWithoutSplits() {
        GemmProblem p = dense(DType.F16, OPT, 8192, 8192, 8192);
        GemmProblem ampere = dense(DType.F16, new CodegenOptions(false, "sm_80"), 8192, 8192, 8192);
        for (GemmProblem q : new GemmProblem[] {p, ampere}) {
            GemmConfig c = GemmHeuristic.choose(q);
            assertEquals(q.sm() == 90 ? GemmConfig.Path.WGMMA_TMA : GemmConfig.Path.MMA, c.path(), "wgmma fed by TMA on Hopper (issue 7), mma.sync before");
            assertEquals(1, c.splits(q));
            assertTrue(c.bm() * c.bn() >= 128 * 128, c.label());
        }
    }

    @Test void mathFollowsTheOptionsAndTheArch() {
        assertEquals(GemmConfig.Path.SIMT, GemmHeuristic.choose(dense(DType.F32, OPT, 256, 256, 256)).path(), "exact fp32 by default");
        assertEquals(GemmConfig.Path.MMA, GemmHeuristic.choose(dense(DType.F32, new CodegenOptions(true, "sm_90"), 256, 256, 256)).path());
        GemmProblem old = dense(DType.F16, new CodegenOptions(false, "sm_75"), 256, 256, 256);
        assertEquals(GemmMath.F16_SIMT, old.math());
        assertEquals(false, old.asyncA(), "no cp.async before sm_80");
        assertNotNull(GemmHeuristic.choose(old));
        assertEquals(GemmConfig.Path.SKINNY, GemmHeuristic.choose(dense(DType.F32, OPT, 1, 1000, 2048)).path());
    }

    /**
     * Small M (the transformer shapes) by the cost model (sm_80 here; on Hopper DenseSmallM's measured lists come
     * first): the autotuner's first four candidates hold both a sliced-K many-warp tile and a classic one, and a
     * split count that puts a block on every SM; large outputs keep the classic list.
     */
    @Test void smallMCandidatesMixSlicedKAndClassicTiles() {
        CodegenOptions ampere = new CodegenOptions(false, "sm_80");
        for (long[] s : new long[][] {{128, 768, 768}, {128, 3072, 1024}, {145, 3072, 768}, {145, 1024, 4096}, {64, 768, 1024}}) {
            GemmProblem p = dense(DType.F16, ampere, s[0], s[1], s[2]);
            List<GemmConfig> cs = GemmHeuristic.candidates(p, 4);
            assertTrue(cs.stream().anyMatch(c -> c.warpsK() > 1), "sliced-K among " + cs);
            assertTrue(cs.stream().anyMatch(c -> c.warpsK() == 1 && c.threads() <= 128), "a classic tile among " + cs);
            assertTrue(cs.stream().anyMatch(c -> c.tiles(p) * c.splits(p) >= OPT.smCount()), "a GPU-filling grid among " + cs);
            for (GemmConfig c : cs) assertEquals(c, GemmConfig.parse(c.label()));
        }
        GemmProblem big = dense(DType.F16, OPT, 128, 50257, 768);
        assertTrue(GemmHeuristic.candidates(big, 8).stream().allMatch(c -> c.warpsK() == 1), "the LM head keeps the classic tiles");
        assertTrue(GemmHeuristic.candidates(dense(DType.F16, OPT, 8192, 8192, 8192), 8).stream().allMatch(c -> c.warpsK() == 1));
    }

    @Test void slicedKLabelsAndLimits() {
        GemmConfig c = GemmConfig.parse("mma 64x64x128 w2x2x4 s4 k2");
        assertEquals(4, c.warpsK());
        assertEquals(512, c.threads());
        assertEquals(128, c.sliceThreads());
        assertEquals("mma 64x64x128 w2x2x4 s4 k2", c.label());
        assertEquals(1, GemmConfig.parse("mma 64x64x64 w2x2 s4 k1").warpsK());
        GemmProblem f16 = dense(DType.F16, OPT, 128, 768, 768), f32 = dense(DType.F32, OPT, 128, 768, 768);
        assertTrue(new GemmConfig(GemmConfig.Path.MMA, 64, 64, 32, 2, 2, 3, 1, 4).invalidReason(f16).contains("k slices"));
        assertTrue(new GemmConfig(GemmConfig.Path.SIMT, 64, 64, 32, 4, 1, 3, 1, 2).invalidReason(f32).contains("sliced-K"));
        // the slices' tiles are summed in the staging buffers, which must hold them
        GemmConfig shallow = new GemmConfig(GemmConfig.Path.MMA, 64, 64, 32, 2, 2, 2, 1, 2);
        assertTrue(shallow.sharedBytes(f16) >= 64 * 64 * 4);
    }
}
