package dev.kiln.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.CompileOptions;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.passes.PlanMemory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The weights block handed out before autotuning (for the early upload) is the one the plan is built with. */
class PlanWeightsTest {
    private static Graph model() {
        GraphBuilder b = new GraphBuilder("weights");
        Value x = b.input("x", TensorType.of(DType.F32, 4));
        double[] w = {1.5, -2, 3.25, 4}, c = {0.5, 0.25, -1, 8};
        b.output(b.op("Add", b.op("Mul", x, b.constant("w", Tensor.f32(new long[] {4}, w))), b.constant("c", Tensor.f32(new long[] {4}, c))));
        return b.build();
    }

    @Test void theBlockGivenOutEarlyIsThePlansOwnArray() {
        List<byte[]> given = new ArrayList<>();
        ModelCompiler.Result r = ModelCompiler.compile(model(), CompileOptions.defaults().withArch("sm_90"), "sm_90", Map.of(), null, given::add);
        assertEquals(1, given.size(), "given out once");
        assertEquals(r.memory().weightBytes(), given.getFirst().length, "the memory plan's weights block (two aligned f32 constants of four)");
        var slot = r.plan().weightSlots().stream().filter(s -> s.label().equals("w")).findFirst().orElseThrow();
        assertEquals(3.25f, java.nio.ByteBuffer.wrap(given.getFirst()).order(java.nio.ByteOrder.LITTLE_ENDIAN).getFloat((int) slot.offset() + 8));
        assertArrayEquals(given.getFirst(), r.plan().weights(), "the plan holds the same bytes");
        assertArrayEquals(PlanBuilder.weights(r.graph(), r.memory()), given.getFirst(), "and they depend on the graph and the memory plan only");
    }

    @Test void aBlockOfTheWrongSizeIsRefused() {
        ModelCompiler.Result r = ModelCompiler.compile(model(), CompileOptions.defaults().withArch("sm_90"), "sm_90", Map.of(), null);
        var memory = PlanMemory.plan(r.graph(), Kernels::isView);
        assertThrows(IllegalArgumentException.class, () -> PlanBuilder.build(r.graph(), memory, r.kernels(), new byte[(int) memory.weightBytes() + 1]));
    }
}
