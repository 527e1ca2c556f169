package dev.kiln.runtime.plan;

import dev.kiln.runtime.plan.ExecutionPlan.Arg;
import dev.kiln.runtime.plan.ExecutionPlan.Dims;
import dev.kiln.runtime.plan.ExecutionPlan.KernelSource;
import dev.kiln.runtime.plan.ExecutionPlan.Launch;
import dev.kiln.runtime.plan.ExecutionPlan.Slot;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class ExecutionPlanTest {
    static final KernelSource K = new KernelSource("k0", "extern \"C\" __global__ void k0(float* p) {}", "k0");

    static ExecutionPlan plan(byte[] weights, List<Arg> args) {
        return new ExecutionPlan("m", List.of(K), 512, weights, List.of(new Slot("w", 0, 4)),
                List.of(new Launch(0, Dims.of(1), Dims.of(32), 0, args)), List.of(new Slot("x", 0, 24)), List.of(new Slot("y", 256, 24)));
    }

    @Test void equalityIsByContentIncludingWeightsAndNanArguments() {
        ExecutionPlan a = plan(new byte[] {1, 2, 3, 4}, List.of(new Arg.ArenaPtr(256), new Arg.F32(Float.NaN)));
        ExecutionPlan b = plan(new byte[] {1, 2, 3, 4}, List.of(new Arg.ArenaPtr(256), new Arg.F32(Float.NaN)));
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertNotEquals(a, plan(new byte[] {1, 2, 3, 5}, List.of(new Arg.ArenaPtr(256), new Arg.F32(Float.NaN))));
    }

    @Test void weightsAreTakenOverNotCopiedAndOnlyReadThroughTheView() {
        byte[] w = {1, 2, 3, 4};
        ExecutionPlan p = plan(w, List.of());
        w[0] = 9; // the plan owns the array now (a gigabyte is not copied), so this shows through
        assertEquals(9, p.weightsView().get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0));
        assertThrows(IllegalArgumentException.class, () -> p.weightsView().set(java.lang.foreign.ValueLayout.JAVA_BYTE, 1, (byte) 7));
        p.weights()[1] = 9; // weights() is a copy
        assertEquals(2, p.weights()[1]);
        assertEquals(4, p.weightsView().byteSize());
    }

    @Test void pointersAndSlotsOutsideTheirBlocksAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> plan(new byte[4], List.of(new Arg.ArenaPtr(512))));
        assertThrows(IllegalArgumentException.class, () -> plan(new byte[4], List.of(new Arg.WeightPtr(4))));
        assertThrows(IllegalArgumentException.class, () -> new ExecutionPlan("m", List.of(K), 100, new byte[0], List.of(), List.of(),
                List.of(new Slot("x", 90, 24)), List.of()));
        assertThrows(IllegalArgumentException.class, () -> new ExecutionPlan("m", List.of(K), 100, new byte[0], List.of(),
                List.of(new Launch(1, Dims.of(1), Dims.of(1), 0, List.of())), List.of(), List.of()));
        assertThrows(IllegalArgumentException.class, () -> Dims.of(0));
        assertThrows(IllegalArgumentException.class, () -> plan(new byte[4], List.of(new Arg.WorkspacePtr(0))));
    }

    @Test void workspacePointersMustFallInsideTheWorkspace() {
        List<Launch> l = List.of(new Launch(0, Dims.of(1), Dims.of(32), 0, List.of(new Arg.WorkspacePtr(256)), "MatMul_1"));
        ExecutionPlan p = new ExecutionPlan("m", List.of(K), 0, new byte[0], List.of(), l, List.of(), List.of(), 512);
        assertEquals(512, p.workspaceBytes());
        assertEquals("MatMul_1", p.launches().get(0).label());
        assertThrows(IllegalArgumentException.class, () -> new ExecutionPlan("m", List.of(K), 0, new byte[0], List.of(), l, List.of(), List.of(), 256));
    }

    @Test void compileFlagsAddTheCudaIncludeFolderWhenFound(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        java.nio.file.Files.createDirectories(dir.resolve("include"));
        java.nio.file.Files.writeString(dir.resolve("include/cuda_fp16.h"), "");
        assertEquals(dir.resolve("include"), CompileFlags.cudaInclude(Map.of("CUDA_HOME", dir.toString())));
        assertEquals(List.of("-std=c++17", "-I" + dir.resolve("include")), CompileFlags.forInclude(dir.resolve("include"), ""));
        assertEquals(List.of("-std=c++17", "--pch", "-G"), CompileFlags.forInclude(null, " --pch  -G "), "extra options from kiln.nvrtcOptions");
    }

    @Test void tensorMapsMustBeOverAPointerArgumentOfTheirLaunch() {
        dev.kiln.runtime.TensorMap g = new dev.kiln.runtime.TensorMap(dev.kiln.runtime.TensorMap.Element.BF16, List.of(520L, 1000L), List.of(1040L),
                List.of(64, 128), dev.kiln.runtime.TensorMap.Swizzle.B128);
        Arg maps = new Arg.TensorMaps(List.of(new Arg.TensorMaps.Over(0, 0, g), new Arg.TensorMaps.Over(1, 256, g)));
        ExecutionPlan p = plan(new byte[4], List.of(new Arg.ArenaPtr(0), new Arg.WeightPtr(0), maps));
        assertEquals(p, plan(new byte[4], List.of(new Arg.ArenaPtr(0), new Arg.WeightPtr(0), maps)));
        assertThrows(IllegalArgumentException.class, () -> plan(new byte[4], List.of(new Arg.ArenaPtr(0), new Arg.I32(3), maps)), "argument 1 is a scalar");
        assertThrows(IllegalArgumentException.class, () -> plan(new byte[4], List.of(new Arg.ArenaPtr(0), maps)), "argument 1 is the maps themselves");
        assertThrows(IllegalArgumentException.class, () -> new Arg.TensorMaps.Over(0, 8, g), "offset not 16-byte aligned");
        assertThrows(IllegalArgumentException.class, () -> new Arg.TensorMaps(List.of()));
    }
}
