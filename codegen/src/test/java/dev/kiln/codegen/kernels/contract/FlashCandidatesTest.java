package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.NvccPtx;
import dev.kiln.ir.Attr;
import dev.kiln.ir.Graph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The tiles the autotuner and the benchmark may time: labels, and what ptxas makes of them at head size 128. */
class FlashCandidatesTest {
    /** Every candidate's label parses back to the same config, and no two candidates share a label. */
    @Test void labelsRoundTrip() {
        for (long d : new long[] {32, 64, 80, 128, 256}) {
            List<FlashConfig> cs = FlashConfig.candidates(d, d);
            assertEquals(cs.size(), new HashSet<>(cs).size(), "no duplicates at D" + d);
            for (FlashConfig c : cs) {
                assertEquals(c, FlashConfig.parse(c.toString()), c.toString());
                assertTrue(c.fits(d, d), c + " fits D" + d);
            }
        }
        assertEquals(new FlashConfig(2, 4, 32, false, 4, 2, true), FlashConfig.parse("m128w4n32sr4l"));
        assertEquals(new FlashConfig(2, 4, 16, true, 0, 3, true), FlashConfig.parse("m128w4n16qp3l"));
        assertEquals(new FlashConfig(2, 4, 64, true), FlashConfig.parse("m128w4n64q"));
        assertEquals(new FlashConfig(2, 4, 48, false, 0, 2, false, true, true), FlashConfig.parse("m128w4n48sdv"));
        assertEquals(new FlashConfig(2, 4, 32, false, 0, 2, true, false, true), FlashConfig.parse("m128w4n32sdl"));
        assertEquals(new FlashConfig(2, 4, 32, false, 0, 2, false, true, false), FlashConfig.parse("m128w4n32sv"));
    }

    /**
     * At B1 H32 S8192 D128 (issue 7's long shape) every candidate of two or more warps compiles for sm_90
     * without spilling: {@link FlashConfig#fits} must not admit a tile ptxas cannot hold, or the tuner would
     * time a kernel slow for a reason no tile choice fixes. (One-warp tiles are for short sequences; ptxas
     * spills m16w1n64q there when causal, which the heuristic never picks at this length.)
     */
    @ParameterizedTest(name = "causal {0}")
    @ValueSource(ints = {0, 1})
    void longSequenceCandidatesDoNotSpill(int causal) {
        long d = 128;
        String shape = "1x32x8192x" + d;
        Graph outer = AttentionTemplateTest.attention("f16", shape, shape, shape, null, causal != 0 ? Map.of("is_causal", Attr.of(1L)) : Map.of());
        CodegenContext ctx = new CodegenContext(CodegenOptions.defaults());
        List<FlashConfig> cands = FlashConfig.candidates(d, d).stream().filter(c -> c.warps() >= 2).toList();
        List<String> sources = new ArrayList<>(), entries = new ArrayList<>();
        for (FlashConfig c : cands) {
            KernelSpec ks = AttentionTemplate.emit(Fixtures.fused(outer), ctx, c);
            sources.add(ks.source());
            entries.add(ks.entry());
        }
        Map<String, NvccPtx.Resources> res = NvccPtx.resources(sources, "sm_90");
        StringBuilder bad = new StringBuilder();
        for (int i = 0; i < cands.size(); i++) {
            NvccPtx.Resources r = res.get(entries.get(i));
            assertTrue(r != null, "ptxas reported " + entries.get(i));
            System.out.printf("D%d S8192 causal %d %-14s estimate %3d ptxas %3d spill %d/%d%n", d, causal, cands.get(i),
                    cands.get(i).registers(d, d), r.registers(), r.spillStores(), r.spillLoads());
            if (r.spillStores() > 0 || r.spillLoads() > 0) bad.append(cands.get(i)).append(' ');
        }
        assertTrue(bad.isEmpty(), "candidates that spill: " + bad);
    }
}
