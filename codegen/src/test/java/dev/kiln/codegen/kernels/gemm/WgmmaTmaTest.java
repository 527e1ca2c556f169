package dev.kiln.codegen.kernels.gemm;

import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.NvccPtx;
import dev.kiln.ir.DType;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The TMA variant of the wgmma main loop ({@link GemmConfig.Path#WGMMA_TMA}): which problems it takes, the
 * tensor maps it asks the host for, and that its kernels compile for sm_90a at exactly the launch register
 * count its setmaxnreg budget is computed from (fewer would leave the consumers' request unmet), without spills.
 */
class WgmmaTmaTest {
    static final CodegenOptions O = CodegenOptions.defaults();

    static GemmProblem dense(DType t, long m, long n, long k, boolean aK, boolean bK) {
        return GemmProblem.of(m, n, k, new long[0], StridedOperand.dense("in0", t, m, k, aK), StridedOperand.dense("in1", t, n, k, bK), O);
    }

    static GemmConfig tma(int bm, int bn, int stages) { return new GemmConfig(GemmConfig.Path.WGMMA_TMA, bm, bn, 64, 8, 1, stages, 1); }

    /** The transposed product's TMA loop with one or two consumer warpgroups. */
    static GemmConfig tmaT(int bm, int bn, int warps, int stages) { return new GemmConfig(GemmConfig.Path.WGMMA_TMA_T, bm, bn, 64, warps, 1, stages, 1); }

    @Test void theTransposedPathTakesFewRowsInStepsOfEight() {
        GemmProblem vit = dense(DType.F16, 145, 3072, 1024, true, false);
        GemmConfig one = tmaT(80, 64, 4, 11), two = tmaT(80, 64, 8, 11);
        assertNull(one.invalidReason(vit));
        assertNull(two.invalidReason(vit));
        assertEquals(256, one.threads());
        assertEquals(2 * 48, one.tiles(vit), "145 rows in two tiles of 80, 3072 columns in 48 of 64");
        assertEquals(one, GemmConfig.parse("wgmma_tma_t 80x64x64 w4x1 s11 k1"));
        assertEquals(one.withSplitK(2), GemmConfig.parse(one.withSplitK(2).label()));
        assertNotNull(tmaT(84, 64, 4, 8).invalidReason(vit), "rows in steps of 8");
        assertNotNull(tmaT(40, 64, 8, 8).invalidReason(vit), "20 rows per warpgroup");
        assertNotNull(tmaT(80, 96, 4, 8).invalidReason(vit), "columns in 64-wide wgmma tiles");
        assertNotNull(tmaT(80, 64, 4, 8).invalidReason(dense(DType.F16, 145, 3072, 1024, false, false)), "an M-major A");
        assertNotNull(tmaT(80, 64, 12, 8).invalidReason(vit), "three consumers");
        assertNull(tmaT(80, 64, 4, 12).invalidReason(vit), "12 stages of 18 KB fit");
        assertNotNull(tmaT(80, 64, 4, 13).invalidReason(vit), "13 do not");
        String src = PlainGemm.kernel(vit, one, "g").source();
        assertTrue(src.contains("kiln_wgmma_m64n80k16_f16_mk"), "wgmma's wide side is B's columns (MN-major), its 80-wide side A's rows");
        assertTrue(PlainGemm.kernel(vit, two, "g").source().contains("kiln_wgmma_m64n40k16_f16_mk"), "two consumers take 40 rows each");
    }

    @Test void blockIsTwoConsumerWarpgroupsAndOneProducer() {
        GemmConfig c = tma(128, 256, 4);
        assertEquals(384, c.threads());
        assertEquals(256, c.sliceThreads());
        assertEquals(128, c.producerThreads());
        assertNull(c.invalidReason(dense(DType.F16, 8192, 8192, 8192, true, false)));
    }

    /**
     * Both TMA loops on the CPU simulator (kiln_sim.h: mbarriers, TMA copies with the 128-byte swizzle and zero fill,
     * a copy into a slot that a wgmma in flight still reads fails): ragged M, N and K, both B majors, an M-major A
     * on the plain loop, split-K, one and two consumer warpgroups, rings that wrap.
     */
    @Test void bothLoopsComputeRightOnTheSimulator() {
        GemmSimTest.dense(DType.F16, O, 145, 128, 320, true, false, tmaT(80, 64, 4, 3));   // M = 145 in two tiles of 80; 5 k tiles on 3 stages
        GemmSimTest.dense(DType.BF16, O, 145, 136, 200, true, true, tmaT(80, 64, 8, 3));   // two consumers of 40 rows; B^T; N and K ragged
        GemmSimTest.dense(DType.F16, O, 64, 128, 512, true, false, tmaT(64, 128, 4, 4).withSplitK(2)); // the last block sums the split
        GemmSimTest.dense(DType.F16, O, 136, 200, 192, false, false, tma(128, 128, 3));     // the plain TMA loop: A M-major, a skipped B box
    }

    @Test void mapsFollowTheOperandsMemoryOrder() {
        GemmProblem p = dense(DType.F16, 1000, 1496, 520, false, true); // A [K, M] (MN-major), B [N, K] (K-major)
        GemmConfig c = tma(128, 256, 4);
        TmaMap a = WgmmaKernel.tmaMap(p, c, true), b = WgmmaKernel.tmaMap(p, c, false);
        assertEquals(List.of(1000L, 520L, 2000L, 64, 64), List.of(a.inner(), a.outer(), a.outerStrideBytes(), a.boxInner(), a.boxOuter()));
        assertEquals(List.of(520L, 1496L, 1040L, 64, 256), List.of(b.inner(), b.outer(), b.outerStrideBytes(), b.boxInner(), b.boxOuter()));
    }

    @Test void refusesWhatTmaCannotRead() {
        GemmConfig c = tma(128, 256, 4);
        // rows of 1001 halves are not 16-byte multiples
        assertNotNull(c.invalidReason(dense(DType.F16, 4096, 4096, 1001, true, false)));
        // batched operands stay on the cp.async loader
        GemmProblem batched = GemmProblem.of(1024, 1024, 1024, new long[] {4},
                new StridedOperand("in0", DType.F16, 0, new long[] {4}, new long[] {1024 * 1024}, 1024, 1024, 1024, 1),
                new StridedOperand("in1", DType.F16, 0, new long[] {4}, new long[] {1024 * 1024}, 1024, 1, 1024, 1024), O);
        assertNotNull(c.invalidReason(batched));
        assertNotNull(new GemmConfig(GemmConfig.Path.WGMMA_TMA, 128, 256, 64, 4, 1, 4, 1).invalidReason(dense(DType.F16, 8192, 8192, 8192, true, false)));
        assertNotNull(tma(256, 256, 3).invalidReason(dense(DType.F16, 8192, 8192, 8192, true, false)), "256 accumulators per thread");
        assertNotNull(tma(128, 256, 5).invalidReason(dense(DType.F16, 8192, 8192, 8192, true, false)), "5 stages of 48 KB do not fit");
    }

    @Test void theHeuristicChoosesItByDefault() { // TmaOfferTest: -Dkiln.tma=false turns it off
        GemmProblem p = dense(DType.F16, 8192, 8192, 8192, true, false);
        assertTrue(GemmHeuristic.candidates(p, 200).stream().anyMatch(c -> c.path() == GemmConfig.Path.WGMMA_TMA));
        assertEquals(GemmConfig.Path.WGMMA_TMA, GemmHeuristic.choose(p).path());
    }

    @Test void labelsParseBack() {
        for (GemmConfig c : List.of(tma(128, 256, 4), tma(256, 128, 4).withSplitK(3), tma(128, 128, 6))) {
            assertEquals(c, GemmConfig.parse(c.label()));
            assertTrue(c.label().startsWith("wgmma_tma "), c.label());
        }
        assertEquals(tma(128, 256, 4), GemmConfig.parse("wgmma_tma 128x256x64 w8x1 s4 k1"));
        assertEquals(GemmConfig.Path.WGMMA, GemmConfig.parse("wgmma 128x256x64 w8x1 s4 k1").path());
    }

    @Test void theLaunchAsksForBothMapsOverTheOperandParameters() {
        GemmProblem p = dense(DType.BF16, 1000, 1496, 520, false, true);
        GemmConfig c = tma(128, 256, 4);
        KernelSpec k = PlainGemm.kernel(p, c, "g");
        KernelSpec.Param last = k.params().getLast();
        KernelSpec.Param.TensorMaps t = assertInstanceOf(KernelSpec.Param.TensorMaps.class, last);
        TmaMap a = WgmmaKernel.tmaMap(p, c, true), b = WgmmaKernel.tmaMap(p, c, false);
        assertEquals(List.of(a.spec(0), b.spec(1)), t.maps(), "A over in0 (parameter 0), B over in1");
        KernelSpec.TensorMap ma = t.maps().get(0);
        assertEquals(List.of(a.inner(), a.outer()), ma.dims());
        assertEquals(List.of(a.outerStrideBytes()), ma.strideBytes());
        assertEquals(List.of(a.boxInner(), a.boxOuter()), ma.box());
        assertEquals(DType.BF16, ma.dtype());
        assertEquals(128, ma.swizzleBytes());
        // the cp.async wgmma path asks for none
        assertFalse(PlainGemm.kernel(p, new GemmConfig(GemmConfig.Path.WGMMA, 128, 256, 64, 8, 1, 4, 1), "g").params().stream()
                .anyMatch(q -> q instanceof KernelSpec.Param.TensorMaps));
    }

    @Test void compilesAtTheLaunchRegisterCountWithoutSpills() {
        NvccPtx.nvccOrSkip();
        Map<String, GemmConfig> configs = new LinkedHashMap<>();
        List<String> sources = new ArrayList<>();
        Object[][] cases = {{DType.F16, 8192L, 8192L, 8192L, true, false, tma(128, 256, 4)}, {DType.BF16, 8192L, 8192L, 8192L, true, true, tma(256, 128, 4)},
                {DType.F16, 1000L, 1496L, 520L, false, true, tma(128, 128, 6)}, {DType.F16, 145L, 3072L, 1024L, true, false, tmaT(80, 64, 4, 11)},
                {DType.BF16, 145L, 3072L, 768L, true, true, tmaT(160, 128, 8, 6)}, {DType.F16, 145L, 1000L, 1000L, true, false, tmaT(152, 64, 4, 8).withSplitK(2)}};
        for (Object[] v : cases) {
            GemmProblem p = dense((DType) v[0], (Long) v[1], (Long) v[2], (Long) v[3], (Boolean) v[4], (Boolean) v[5]);
            GemmConfig c = (GemmConfig) v[6];
            String entry = "t" + configs.size();
            String src = PlainGemm.kernel(p, c, entry).source();
            assertTrue(src.contains("setmaxnreg") && src.contains("cp.async.bulk.tensor"), "a producer/consumer kernel");
            sources.add(src);
            configs.put(entry, c);
        }
        Map<String, NvccPtx.Resources> res = NvccPtx.resources(sources, "sm_90a");
        for (var e : configs.entrySet()) {
            NvccPtx.Resources r = res.get(e.getKey());
            assertNotNull(r, "ptxas reported nothing for " + e.getValue());
            assertEquals(WgmmaKernel.registers(e.getValue()), r.registers(), "launch registers of " + e.getValue());
            assertEquals(0, r.spillStores() + r.spillLoads(), "spills in " + e.getValue() + ": " + r);
        }
    }
}
