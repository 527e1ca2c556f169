package dev.kiln.codegen.kernels.gemm;

import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.NvccPtx;
import dev.kiln.codegen.kernels.tile.WgmmaOps;
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
 * Every wgmma tile compiles for sm_90a (the arch-specific target wgmma needs; the source carries the marker
 * that makes the runtime pick it) with ptxas reporting no spills, for 8192^3 with an n-contiguous and a
 * k-contiguous B, f16 and bf16, and a ragged shape with a transposed A and split-K. Registers go to
 * {@code target/wgmma-registers.txt}.
 */
class WgmmaCompileTest {
    @Test void everyTileCompilesForSm90aWithoutSpills() throws IOException {
        NvccPtx.nvccOrSkip();
        CodegenOptions o = CodegenOptions.defaults();
        Map<String, String> what = new LinkedHashMap<>();
        List<String> sources = new ArrayList<>();
        int n = 0;
        for (int[] t : WgmmaKernel.TILES)
            for (Object[] v : new Object[][] {{DType.F16, true, false, 8192L, 8192L, 8192L, 1}, {DType.F16, true, true, 8192L, 8192L, 8192L, 1},
                    {DType.BF16, true, false, 8192L, 8192L, 8192L, 1}, {DType.F16, false, true, 1000L, 1500L, 520L, 2}}) {
                long m = (Long) v[3], nn = (Long) v[4], k = (Long) v[5];
                GemmProblem p = GemmProblem.of(m, nn, k, new long[0], StridedOperand.dense("in0", (DType) v[0], m, k, (Boolean) v[1]),
                        StridedOperand.dense("in1", (DType) v[0], nn, k, (Boolean) v[2]), o);
                GemmConfig c = new GemmConfig(GemmConfig.Path.WGMMA, t[0], t[1], WgmmaKernel.BK, t[2], 1, t[3], (Integer) v[6]);
                String entry = "w" + n++;
                String src = GemmSim.kernel(p, c, entry).source();
                assertTrue(src.contains(WgmmaOps.ARCH_MARKER), "a wgmma kernel asks for the arch-specific target");
                sources.add(src);
                Files.createDirectories(Path.of("target", "wgmma-src"));
                Files.writeString(Path.of("target", "wgmma-src", entry + ".cu"), src); // for ptxas -v by hand
                what.put(entry, String.format("%-5s A %-2s B %-2s %5d x %5d x %5d  %s", p.math(), p.a().major(), p.b().major(), m, nn, k, c.label()));
            }
        Map<String, NvccPtx.Resources> res = NvccPtx.resources(sources, "sm_90a");
        StringBuilder table = new StringBuilder();
        for (var e : what.entrySet()) {
            NvccPtx.Resources r = res.get(e.getKey());
            assertTrue(r != null, "ptxas reported nothing for " + e.getValue());
            table.append(e.getValue()).append("  regs ").append(r.registers()).append('\n');
            assertEquals(0, r.spillStores() + r.spillLoads(), "spills in " + e.getValue() + ": " + r);
        }
        Path out = Path.of("target", "wgmma-registers.txt");
        Files.createDirectories(out.getParent());
        Files.writeString(out, table);
    }
}
