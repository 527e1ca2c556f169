package dev.kiln.codegen.kernels.gemm;

import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
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
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every config the heuristic picks for the model GEMM shapes (BERT-base, GPT-2 small, ViT-L/32: M = 128 or
 * 145; N, K in 768..4096; the LM head; M = 1 2048 -> 1000; 8192^3), and its runners-up, compiles for sm_90
 * with ptxas reporting no spills (one kernel per config and edge case: sizes that only change constants
 * compile alike). The registers per config are written to
 * {@code target/gemm-registers.txt} (docs/gemm.md quotes them).
 */
class GemmCompileTest {
    static final long[][] SHAPES = {
            {8192, 8192, 8192}, {1, 1000, 2048},
            {128, 768, 768}, {128, 2304, 768}, {128, 3072, 768}, {128, 768, 3072}, {128, 1024, 1024}, {128, 3072, 1024},
            {128, 4096, 1024}, {128, 1024, 4096}, {128, 50257, 768},
            {145, 768, 768}, {145, 2304, 768}, {145, 3072, 768}, {145, 768, 3072}, {145, 1024, 1024}, {145, 3072, 1024},
            {145, 4096, 1024}, {145, 1024, 4096}, {145, 50257, 768},
    };

    static GemmProblem problem(DType t, CodegenOptions o, long[] s, boolean bKMajor) {
        return GemmProblem.of(s[0], s[1], s[2], new long[0], StridedOperand.dense("in0", t, s[0], s[2], true),
                StridedOperand.dense("in1", t, s[1], s[2], bKMajor), o);
    }

    @Test void modelShapeConfigsCompileWithoutSpills() throws IOException {
        NvccPtx.nvccOrSkip();
        CodegenOptions exact = CodegenOptions.defaults(), tf32 = new CodegenOptions(true, "sm_90");
        Map<String, String> what = new LinkedHashMap<>();
        List<String> sources = new ArrayList<>();
        java.util.Set<String> kinds = new java.util.HashSet<>();
        int n = 0;
        for (long[] s : SHAPES)
            for (Object[] v : new Object[][] {{DType.F16, exact, 3}, {DType.BF16, exact, 1}, {DType.F32, exact, 2}, {DType.F32, tf32, 1}})
                for (boolean bK : new boolean[] {false, true}) {
                    if (bK && v[0] != DType.F16) continue; // the K-major (transposed weight) variants once
                    GemmProblem p = problem((DType) v[0], (CodegenOptions) v[1], s, bK);
                    // DenseSmallMTest compiles all of DenseSmallM's candidates; here its default only (one nvcc run stays short)
                    for (GemmConfig c : GemmHeuristic.candidates(p, DenseSmallM.applies(p) ? 1 : (Integer) v[2])) {
                        // kernels that differ only in baked-in sizes compile alike: one per config and edge case
                        String kind = c.label() + p.math() + bK + p.asyncA() + p.asyncB() + (p.m() % c.bm() == 0) + (p.n() % c.bn() == 0)
                                + (p.k() % c.bk() == 0) + (c.splits(p) > 1);
                        if (!kinds.add(kind)) continue;
                        String entry = "g" + n++;
                        KernelSpec k = GemmSim.kernel(p, c, entry);
                        sources.add(k.source());
                        what.put(entry, String.format("%-5s %-8s %5d x %5d x %5d  %-26s split %2d", p.math(), bK ? "B^T" : "B", s[0], s[1], s[2], c.label(), c.splits(p)));
                    }
                }
        Map<String, NvccPtx.Resources> res = NvccPtx.resources(sources, "sm_90a"); // sm_90a: the wgmma configs need it (runtime: CompileRequest.archFor)
        StringBuilder table = new StringBuilder("math  B        M       N       K      config                     splits  registers\n");
        for (var e : what.entrySet()) {
            NvccPtx.Resources r = res.get(e.getKey());
            assertTrue(r != null, "ptxas reported nothing for " + e.getValue());
            table.append(e.getValue()).append("  regs ").append(r.registers()).append(r.spillStores() + r.spillLoads() > 0 ? "  SPILLS" : "").append('\n');
        }
        Path out = Path.of("target", "gemm-registers.txt");
        Files.createDirectories(out.getParent());
        Files.writeString(out, table);
        for (var e : what.entrySet()) {
            NvccPtx.Resources r = res.get(e.getKey());
            assertEquals(0, r.spillStores() + r.spillLoads(), "spills in " + e.getValue() + ": " + r);
        }
    }

    /** Every small-M tile (sliced-K, deep rings, 8-16 warps) compiles without spills, with and without split-K, for B and B^T. */
    @Test void smallMTilesCompileWithoutSpills() throws IOException {
        NvccPtx.nvccOrSkip();
        List<String> sources = new ArrayList<>(), what = new ArrayList<>();
        for (int[] t : GemmHeuristic.SMALL_M_TILES)
            for (boolean bK : new boolean[] {false, true})
                for (int split : new int[] {1, 3}) {
                    GemmProblem p = problem(DType.F16, CodegenOptions.defaults(), new long[] {145, 1024, 1024}, bK);
                    GemmConfig c = new GemmConfig(GemmConfig.Path.MMA, t[0], t[1], t[2], t[3], t[4], t[5], split, t[6]);
                    String entry = "s" + sources.size();
                    sources.add(GemmSim.kernel(p, c, entry).source());
                    what.add(c.label() + (bK ? " B^T" : " B"));
                }
        Map<String, NvccPtx.Resources> res = NvccPtx.resources(sources, "sm_90");
        StringBuilder table = new StringBuilder("small-M tiles, f16 145x1024x1024, split 1 and 3\n");
        for (int i = 0; i < what.size(); i++) {
            NvccPtx.Resources r = res.get("s" + i);
            assertTrue(r != null, "ptxas reported nothing for " + what.get(i));
            table.append(String.format("%-34s regs %d%n", what.get(i), r.registers()));
            assertEquals(0, r.spillStores() + r.spillLoads(), "spills in " + what.get(i) + ": " + r);
        }
        Path out = Path.of("target", "gemm-registers-small-m.txt");
        Files.createDirectories(out.getParent());
        Files.writeString(out, table);
    }
}
