package dev.kiln.codegen.kernels.gemm;

import dev.kiln.codegen.CodegenOptions;
import dev.kiln.ir.DType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code -Dkiln.tma=true} makes the heuristic offer the TMA path first for large dense f16/bf16 GEMMs on sm_90,
 * and nowhere else. Isolated: it sets a system property other test classes' heuristics would read.
 */
@Isolated
class TmaOfferTest {
    static final CodegenOptions H200 = new CodegenOptions(false, "sm_90", 132);

    static GemmProblem dense(DType t, long m, long n, long k, CodegenOptions o) {
        return GemmProblem.of(m, n, k, new long[0], StridedOperand.dense("in0", t, m, k, true), StridedOperand.dense("in1", t, n, k, false), o);
    }

    static boolean tma(GemmConfig c) { return c.path() == GemmConfig.Path.WGMMA_TMA; }

    @AfterEach void clear() { System.clearProperty("kiln.tma"); }

    @Test void offeredFirstUnlessThePropertyTurnsItOff() {
        GemmProblem big = dense(DType.F16, 8192, 8192, 8192, H200);
        System.setProperty("kiln.tma", "false");
        assertFalse(GemmHeuristic.candidates(big, 200).stream().anyMatch(TmaOfferTest::tma));
        System.clearProperty("kiln.tma"); // the default
        List<GemmConfig> cs = GemmHeuristic.candidates(big, 5);
        assertEquals(5, cs.size());
        assertTrue(tma(GemmHeuristic.choose(big)), "chosen: " + GemmHeuristic.choose(big));
        assertEquals(GemmHeuristic.choose(big), cs.get(0));
        assertEquals(WgmmaKernel.TMA_TILES.length, cs.stream().filter(TmaOfferTest::tma).count(), "every TMA tile, then others: " + cs);
        assertTrue(cs.stream().anyMatch(c -> c.path() == GemmConfig.Path.WGMMA), "the cp.async wgmma loop stays to compare: " + cs);
        for (GemmConfig c : cs) {
            assertNull(c.invalidReason(big), c.label());
            assertEquals(c, GemmConfig.parse(c.label()));
        }
        // ragged but TMA-readable (16-byte rows): still offered, and valid
        GemmProblem ragged = dense(DType.BF16, 3000, 2056, 1000, H200);
        assertTrue(tma(GemmHeuristic.choose(ragged)));
        assertNull(GemmHeuristic.choose(ragged).invalidReason(ragged));
    }

    @Test void notOfferedWhereItDoesNotApplyEvenUnderTheProperty() {
        System.setProperty("kiln.tma", "true");
        List<GemmProblem> others = List.of(
                dense(DType.F16, 512, 8192, 8192, H200),                                  // M < 1024
                dense(DType.F16, 8192, 8192, 256, H200),                                  // K < 512
                dense(DType.F16, 128, 768, 768, H200),                                    // DenseSmallM's class
                dense(DType.F32, 4096, 4096, 4096, H200),                                 // no wgmma for f32
                dense(DType.F16, 8192, 8192, 8192, new CodegenOptions(false, "sm_80", 108)), // not Hopper
                dense(DType.F16, 4096, 4096, 1001, H200),                                 // rows not 16-byte multiples: the path refuses
                GemmProblem.of(1024, 1024, 1024, new long[] {4},                          // batched
                        new StridedOperand("in0", DType.F16, 0, new long[] {4}, new long[] {1024 * 1024}, 1024, 1024, 1024, 1),
                        new StridedOperand("in1", DType.F16, 0, new long[] {4}, new long[] {1024 * 1024}, 1024, 1, 1024, 1024), H200));
        for (GemmProblem p : others) {
            assertFalse(GemmHeuristic.candidates(p, 200).stream().anyMatch(TmaOfferTest::tma), p.toString());
            assertFalse(tma(GemmHeuristic.choose(p)), p.toString());
        }
        // convolutions rank with ranked(), which never holds it
        assertFalse(GemmHeuristic.ranked(dense(DType.F16, 8192, 8192, 8192, H200), 200).stream().anyMatch(TmaOfferTest::tma));
    }
}
