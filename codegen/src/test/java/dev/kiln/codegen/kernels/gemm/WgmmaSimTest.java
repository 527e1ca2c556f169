package dev.kiln.codegen.kernels.gemm;

import dev.kiln.codegen.CodegenOptions;
import dev.kiln.ir.DType;
import dev.kiln.ir.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The wgmma path ({@link WgmmaKernel}) on the CPU simulator against the double reference: every tile of the
 * heuristic's list, both operand majors (so both descriptor layouts and both imm-trans settings), more k
 * tiles than stages (the ring wraps), ragged M, N and K (zero-filled edges), split-K and a batch. The
 * simulator reads the swizzled tiles through the descriptors only when wgmma.wait_group retires them, so a
 * layout, descriptor or pipeline-ordering mistake gives wrong numbers (or a named ordering failure). Same
 * exact inputs and tolerances as {@link GemmSimTest}.
 */
class WgmmaSimTest {
    static final CodegenOptions OPT = CodegenOptions.defaults();

    static GemmConfig wgmma(int bm, int bn, int warps, int stages, int split) {
        return new GemmConfig(GemmConfig.Path.WGMMA, bm, bn, 64, warps, 1, stages, split);
    }

    @Test void f16KMajorAByNMajorBWrapsTheRing() {
        // 7 k tiles through 4 buffers; B [K, N] n-contiguous as most weights are
        GemmSimTest.dense(DType.F16, OPT, 128, 256, 448, true, false, wgmma(128, 256, 8, 4, 1));
    }

    @Test void f16RaggedEdgesWithTransposedOperands() {
        // A [K, M] (m-contiguous: imm-trans-a), B [N, K] (k-contiguous); M, N, K all off the tile, K a multiple of 8
        GemmSimTest.dense(DType.F16, OPT, 200, 136, 200, false, true, wgmma(128, 128, 8, 3, 1));
    }

    @Test void bf16OneWarpgroupTwoRowTilesAndSplitK() {
        GemmSimTest.dense(DType.BF16, OPT, 130, 192, 520, true, false, wgmma(128, 128, 4, 5, 2));
    }

    @Test void f16TallTileTwoRowTilesPerWarpgroupBatched() {
        DType t = DType.F16;
        long m = 256, n = 128, k = 136;
        Random r = new Random(3);
        StridedOperand a = new StridedOperand("in0", t, 0, new long[] {2}, new long[] {m * k}, m, k, k, 1);
        StridedOperand b = new StridedOperand("in1", t, 0, new long[] {2}, new long[] {0}, n, 1, k, n);
        GemmProblem p = GemmProblem.of(m, n, k, new long[] {2}, a, b, OPT);
        GemmSim.check(p, wgmma(256, 128, 8, 4, 1), GemmSim.quarters(t, 2 * m * k, r), GemmSim.quarters(t, k * n, r), GemmSimTest.tol(t));
    }

    @Test void offeredOnlyForLargeAlignedHalfPrecisionOnHopper() {
        GemmProblem big = GemmCompileTest.problem(DType.F16, OPT, new long[] {8192, 8192, 8192}, false);
        assertTrue(GemmHeuristic.candidates(big, 20).stream().anyMatch(c -> c.path() == GemmConfig.Path.WGMMA));
        assertEquals(GemmConfig.Path.WGMMA_TMA, GemmHeuristic.choose(big).path(), "wgmma's peak is above mma.sync's; fed by TMA by default");
        GemmProblem small = GemmCompileTest.problem(DType.F16, OPT, new long[] {128, 768, 768}, false);
        assertTrue(GemmHeuristic.ranked(small, 50).stream().noneMatch(c -> c.path() == GemmConfig.Path.WGMMA), "not by the cost model");
        // the transformer shapes get small wgmma tiles from DenseSmallM's measured list, for the autotuner to time
        assertTrue(GemmHeuristic.candidates(small, 8).stream().anyMatch(c -> c.path() == GemmConfig.Path.WGMMA));
        GemmProblem ampere = GemmCompileTest.problem(DType.F16, new CodegenOptions(false, "sm_80"), new long[] {8192, 8192, 8192}, false);
        assertNotNull(wgmma(128, 256, 8, 4, 1).invalidReason(ampere));
        GemmProblem f32 = GemmCompileTest.problem(DType.F32, OPT, new long[] {8192, 8192, 8192}, false);
        assertNotNull(wgmma(128, 256, 8, 4, 1).invalidReason(f32));
        assertNull(wgmma(128, 256, 8, 4, 1).invalidReason(big));
        assertEquals(wgmma(128, 256, 8, 4, 1), GemmConfig.parse("wgmma 128x256x64 w8x1 s4 k1"));
    }
}
