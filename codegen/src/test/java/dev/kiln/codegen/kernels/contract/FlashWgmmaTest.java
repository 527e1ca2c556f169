package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.NvccPtx;
import dev.kiln.codegen.kernels.tile.WgmmaOps;
import dev.kiln.ir.Attr;
import dev.kiln.ir.Graph;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The wgmma attention tile ({@link FlashWgmma}): its label, where it fits, that it is refused off Hopper, and
 * that ptxas holds it for sm_90a without spills at issue 7's shapes. Its numbers are checked on the CPU
 * simulator by {@link AttentionSimTest}.
 */
class FlashWgmmaTest {
    /** The tiles a benchmark times by name: two warpgroups of 64 rows by 64/128/176 keys, one warpgroup, three stages, pipelined (four). */
    static final String[] TILES = {"m128w8n128g", "m128w8n64g", "m128w8n176g", "m64w4n128g", "m128w8n128gp3", "m128w8n64gp3", "m128w8n64gp4", "m128w8n96gp4"};

    @Test void labelsRoundTripAndFit() {
        for (String t : TILES) {
            FlashConfig c = FlashConfig.parse(t);
            assertTrue(c.wgmma(), t);
            assertEquals(t, c.toString());
            assertEquals(64 * c.warps() / 4, c.blockM(), "64 rows per warpgroup");
            assertTrue(c.fits(128, 128), t + " fits D128");
            assertTrue(c.fits(64, 64), t + " fits D64");
            assertFalse(c.fits(80, 80), "head sizes are whole 128-byte swizzle rows");
        }
        assertFalse(FlashConfig.parse("m128w8n256g").fits(256, 256), "S 128 + O 128 + P 64 registers do not fit");
        assertThrows(IllegalArgumentException.class, () -> FlashConfig.parse("m128w4n64g"), "warpgroups own 64 rows");
        assertFalse(FlashConfig.candidates(128, 128).stream().anyMatch(FlashConfig::wgmma), "timed by name only");
    }

    @Test void refusedBeforeHopper() {
        Graph outer = AttentionTemplateTest.attention("f16", "1x2x64x64", "1x2x64x64", "1x2x64x64", null, Map.of());
        CodegenContext ampere = new CodegenContext(new CodegenOptions(false, "sm_80"));
        assertThrows(IllegalArgumentException.class, () -> AttentionTemplate.emit(Fixtures.fused(outer), ampere, FlashConfig.parse("m128w8n128g")));
    }

    /**
     * B1 H32 S8192 D128 causal and not, B8 H16 S1024 D64: every tile compiles for sm_90a with no spills and without
     * ptxas serializing its wgmmas (what a wgmma under a branch it cannot prove warp-uniform costs); sources to target/fa3-src.
     */
    @Test void compilesForSm90aWithoutSpills() throws IOException {
        NvccPtx.nvccOrSkip();
        CodegenContext ctx = new CodegenContext(CodegenOptions.defaults());
        List<String> sources = new ArrayList<>(), entries = new ArrayList<>(), what = new ArrayList<>();
        for (String shape : new String[] {"1x32x8192x128", "8x16x1024x64"})
            for (int causal = 0; causal < 2; causal++)
                for (String t : TILES) {
                    Graph outer = AttentionTemplateTest.attention("f16", shape, shape, shape, null, causal != 0 ? Map.of("is_causal", Attr.of(1L)) : Map.of());
                    KernelSpec ks = AttentionTemplate.emit(Fixtures.fused(outer), ctx, FlashConfig.parse(t));
                    assertTrue(ks.source().contains(WgmmaOps.ARCH_MARKER), "compiled for sm_90a by the runtime");
                    String entry = "fa3_" + sources.size();
                    String src = ks.source().replace(ks.entry(), entry);
                    sources.add(src);
                    entries.add(entry);
                    what.add(shape + (causal != 0 ? " causal " : " ") + t);
                    Files.createDirectories(Path.of("target", "fa3-src"));
                    Files.writeString(Path.of("target", "fa3-src", entry + ".cu"), src); // for ptxas -v by hand
                }
        java.util.Set<String> serialized = new java.util.HashSet<>();
        Map<String, NvccPtx.Resources> res = NvccPtx.resources(sources, "sm_90a", serialized);
        StringBuilder bad = new StringBuilder();
        for (int i = 0; i < sources.size(); i++) {
            NvccPtx.Resources r = res.get(entries.get(i));
            assertTrue(r != null, "ptxas reported nothing for " + what.get(i));
            System.out.printf("%-36s ptxas %3d registers, spill %d/%d%n", what.get(i), r.registers(), r.spillStores(), r.spillLoads());
            if (r.spillStores() + r.spillLoads() > 0) bad.append(what.get(i)).append(" spills; ");
            if (serialized.contains(entries.get(i))) bad.append(what.get(i)).append(" has its wgmmas serialized (C7520); ");
        }
        assertTrue(bad.isEmpty(), bad.toString());
    }
}
