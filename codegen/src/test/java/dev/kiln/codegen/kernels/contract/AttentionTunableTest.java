package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Attention as a tunable template: the heuristic's tile leads the candidates, and a chosen tile is what is emitted. */
class AttentionTunableTest {
    static Graph bertAttention() {
        return Fixtures.outer("attention", "attn", Fixtures.oneOp("Attention", Map.of(),
                List.of(Fixtures.type("f16", "1x12x128x64"), Fixtures.type("f16", "1x12x128x64"), Fixtures.type("f16", "1x12x128x64")),
                List.of(Fixtures.type("f16", "1x12x128x64")), false));
    }

    /** Before Hopper, at D128 S8192 a fast tuning run (the first four) times the heuristic's tile with its rows and keys, varied in warps, stages, softmax. */
    @Test void longSequenceNeighboursShareTheTile() {
        Graph g = AttentionTemplateTest.attention("f16", "1x32x8192x128", "1x32x8192x128", "1x32x8192x128", null, Map.of());
        Node n = Fixtures.fused(g);
        CodegenContext plain = new CodegenContext(new CodegenOptions(false, "sm_80"));
        List<String> c = new AttentionTemplate().candidates(n, g, plain);
        FlashConfig h = AttentionTemplate.chosenConfig(n, plain);
        assertEquals(h.toString(), c.get(0));
        for (String s : c.subList(1, 4)) {
            FlashConfig f = FlashConfig.parse(s);
            assertEquals(h.blockM(), f.blockM(), s);
            assertEquals(h.blockN(), f.blockN(), s);
        }
        assertTrue(c.contains(new FlashConfig(h.mTiles(), h.warps(), h.blockN(), h.qInRegs(), h.qKept(), h.stages(), true).toString()), "the lean twin");
    }

    /**
     * On sm_90 a long sequence at D128 or D64 takes the wgmma tile the H200 measured fastest; a fast tuning run (the
     * first four) also times wgmma rivals and the mma.sync heuristic's tile; short sequences (BERT) and other
     * architectures keep the mma.sync tiles.
     */
    @Test void hopperLongSequencesTakeTheWgmmaTileWithTheMmaTileAmongTheFirstFour() {
        for (String shape : List.of("1x32x8192x128", "8x16x1024x64")) {
            Graph g = AttentionTemplateTest.attention("f16", shape, shape, shape, null, Map.of());
            Node n = Fixtures.fused(g);
            CodegenContext hopper = new CodegenContext(CodegenOptions.defaults());
            FlashConfig h = AttentionTemplate.chosenConfig(n, hopper);
            assertTrue(h.wgmma(), shape + ": " + h);
            assertEquals(shape.endsWith("128") ? "m128w8n128gp3" : "m128w8n64gp4", h.toString());
            List<String> c = new AttentionTemplate().candidates(n, g, hopper);
            assertEquals(h.toString(), c.get(0));
            assertTrue(c.subList(0, 4).stream().map(FlashConfig::parse).anyMatch(f -> !f.wgmma()), "an mma.sync tile among the first four: " + c);
            assertFalse(AttentionTemplate.chosenConfig(n, new CodegenContext(new CodegenOptions(false, "sm_80"))).wgmma(), "sm_80");
        }
        Graph bert = bertAttention();
        assertFalse(AttentionTemplate.chosenConfig(Fixtures.fused(bert), new CodegenContext(CodegenOptions.defaults())).wgmma(), "S128: too few 128-row blocks");
    }

    @Test void heuristicFirstThenNeighboursAndTheChoiceIsEmitted() {
        Graph g = bertAttention();
        Node n = Fixtures.fused(g);
        AttentionTemplate t = new AttentionTemplate();
        CodegenContext plain = new CodegenContext(CodegenOptions.defaults());
        List<String> c = t.candidates(n, g, plain);
        FlashConfig h = AttentionTemplate.chosenConfig(n, plain);
        assertEquals(h.toString(), c.get(0));
        assertEquals(c.size(), new java.util.HashSet<>(c).size(), "no duplicates");
        assertTrue(Math.abs(FlashConfig.parse(c.get(1)).blockM() - h.blockM()) <= Math.abs(FlashConfig.parse(c.get(c.size() - 1)).blockM() - h.blockM()));
        String other = c.get(c.size() - 1);
        KernelSpec k = t.emit(n, g, new CodegenContext(CodegenOptions.defaults(), Map.of(t.problemKey(n, g, plain), other))).get(0);
        assertEquals(FlashConfig.parse(other).threads(), k.block().x(), "the chosen tile's block size");
        KernelSpec stale = t.emit(n, g, new CodegenContext(CodegenOptions.defaults(), Map.of(t.problemKey(n, g, plain), "m999w9n1q"))).get(0);
        assertEquals(h.threads(), stale.block().x(), "an unusable choice falls back to the heuristic");
    }
}
