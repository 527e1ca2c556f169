package dev.kiln.bundle;

import dev.kiln.runtime.TensorMap;
import dev.kiln.runtime.plan.ExecutionPlan;
import dev.kiln.runtime.plan.ExecutionPlan.Arg;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A plan's JSON reads back to an equal plan, tensor map arguments included (the TMA GEMM's maps over A and B). */
class PlanJsonTest {
    static final ExecutionPlan.KernelSource K = new ExecutionPlan.KernelSource("g", "extern \"C\" __global__ void g() {}", "g");

    static ExecutionPlan plan(List<Arg> args) {
        return new ExecutionPlan("m", List.of(K), 4096, new byte[64], List.of(new ExecutionPlan.Slot("w", 0, 64)),
                List.of(new ExecutionPlan.Launch(0, new ExecutionPlan.Dims(8, 2, 1), ExecutionPlan.Dims.of(384), 197_696, args, "MatMul_0")),
                List.of(new ExecutionPlan.Slot("x", 0, 1024)), List.of(new ExecutionPlan.Slot("y", 2048, 1024)), 512);
    }

    static ExecutionPlan roundTrip(ExecutionPlan p) {
        @SuppressWarnings("unchecked") Map<String, Object> json = (Map<String, Object>) Json.parse(Json.write(PlanJson.write(p)));
        return PlanJson.read(json, p.weightsView(), name -> K.source());
    }

    @Test void tensorMapArgumentsRoundTrip() {
        TensorMap a = new TensorMap(TensorMap.Element.BF16, List.of(1000L, 520L), List.of(2000L), List.of(64, 64), TensorMap.Swizzle.B128);
        TensorMap b = new TensorMap(TensorMap.Element.F16, List.of(520L, 1496L), List.of(1040L), List.of(64, 256), TensorMap.Swizzle.B128);
        ExecutionPlan p = plan(List.of(new Arg.ArenaPtr(0), new Arg.WeightPtr(16), new Arg.ArenaPtr(2048), new Arg.WorkspacePtr(0), new Arg.WorkspacePtr(256),
                new Arg.TensorMaps(List.of(new Arg.TensorMaps.Over(0, 0, a), new Arg.TensorMaps.Over(1, 32, b)))));
        ExecutionPlan back = roundTrip(p);
        assertEquals(p, back);
        assertEquals(p.launches().get(0).args().getLast(), back.launches().get(0).args().getLast());
        // and a plan without maps (every bundle written before them) still reads back
        ExecutionPlan plain = plan(List.of(new Arg.ArenaPtr(0), new Arg.I32(7), new Arg.F32(Float.NaN)));
        assertEquals(plain, roundTrip(plain));
    }

    @Test void anUnknownElementTypeIsRejected() {
        TensorMap a = new TensorMap(TensorMap.Element.BF16, List.of(1000L, 520L), List.of(2000L), List.of(64, 64), TensorMap.Swizzle.B128);
        String json = Json.write(PlanJson.write(plan(List.of(new Arg.ArenaPtr(0), new Arg.TensorMaps(List.of(new Arg.TensorMaps.Over(0, 0, a)))))));
        @SuppressWarnings("unchecked") Map<String, Object> bad = (Map<String, Object>) Json.parse(json.replace("\"bf16\"", "\"f7\""));
        assertThrows(IllegalArgumentException.class, () -> PlanJson.read(bad, MemorySegment.ofArray(new byte[64]), name -> K.source()));
    }
}
