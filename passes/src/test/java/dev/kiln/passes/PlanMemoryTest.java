package dev.kiln.passes;

import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class PlanMemoryTest {
    @Test
    void aChainReusesTwoSlots() {
        GraphBuilder b = new GraphBuilder("chain");
        Value x = b.input("x", TensorType.of(DType.F32, 256)); // 1 KiB each
        Value v = x;
        for (int i = 0; i < 4; i++) v = b.op("Identity", v);
        Graph g = b.output(v).build();
        MemoryPlan p = PlanMemory.plan(g, n -> false);
        assertEquals(2048, p.peakBytes());   // a value and its reader's output overlap; nothing else does
        assertEquals(5 * 1024, p.naiveBytes());
        // values live at the same time never overlap in memory
        for (var n : g.nodes()) {
            MemoryPlan.Slot in = p.slot(n.input(0).name()), out = p.slot(n.output(0).name());
            assertTrue(in.offset() + in.bytes() <= out.offset() || out.offset() + out.bytes() <= in.offset());
        }
    }

    @Test
    void viewsShareBytesAndConstantsGoToWeights() {
        GraphBuilder b = new GraphBuilder("views");
        Value x = b.input("x", TensorType.of(DType.F32, 64));
        Value w = b.constant("w", Tensor.zeros(DType.F32, new long[] {64}));
        Value view = b.op("Identity", x);
        Graph g = b.output(view).output(w).build();
        MemoryPlan p = PlanMemory.plan(g, n -> n.op().equals("Identity"));
        assertEquals(p.slot("x"), p.slot(view.name()));
        assertTrue(p.isWeight("w"));
        assertEquals(256, p.weightBytes());
        assertEquals(256, p.peakBytes());
    }
}
