package dev.kiln.exec;

import dev.kiln.CompileOptions;
import dev.kiln.CompiledModel;
import dev.kiln.Kiln;
import dev.kiln.ir.DType;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.runtime.plan.ExecutionPlan;
import dev.kiln.runtime.plan.ExecutionPlan.Arg;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** A graph output that is a constant: an arena slot past the plan's peak, filled from the weights by a copy launch. */
class ConstantOutputTest {
    static final CompileOptions OPTS = CompileOptions.defaults().withArch("sm_90");

    @Test void constantOutputIsCopiedFromTheWeightsIntoItsOwnArenaSlot() throws Exception {
        GraphBuilder b = new GraphBuilder("const-out");
        Value x = b.input("x", TensorType.of(DType.F32, 6));
        b.output(b.op("Relu", x));
        double[] w = new double[100];
        for (int i = 0; i < w.length; i++) w[i] = 0.5 * i;
        b.output(b.constant("c", Tensor.f32(new long[] {100}, w)));
        CompiledModel m = Kiln.compile(b.build(), OPTS);
        ExecutionPlan p = m.plan();

        ExecutionPlan.Slot weight = p.weightSlots().stream().filter(s -> s.label().equals("c")).findFirst().orElseThrow();
        ExecutionPlan.Slot out = p.outputs().get(1);
        assertEquals("c", out.label());
        assertEquals(400, out.bytes());
        // the slot lies past every other arena slot, 256-aligned, and the arena grew to hold it
        for (ExecutionPlan.Slot s : p.inputs()) assertTrue(s.offset() + s.bytes() <= out.offset(), s.toString());
        assertTrue(p.outputs().get(0).offset() + p.outputs().get(0).bytes() <= out.offset());
        assertEquals(0, out.offset() % 256);
        assertEquals(out.offset() + 400, p.arenaBytes());

        ExecutionPlan.Launch copy = p.launches().getLast();
        assertEquals(PlanBuilder.CONST_COPY_ENTRY, p.kernels().get(copy.kernel()).entry());
        assertEquals(List.of(new Arg.WeightPtr(weight.offset()), new Arg.ArenaPtr(out.offset()), new Arg.I64(400)), copy.args());
        assertEquals(2, copy.grid().x());   // 400 bytes, 256 threads a block
        // the bytes it copies are the constant's
        assertEquals(49.5f, ByteBuffer.wrap(p.weights()).order(ByteOrder.LITTLE_ENDIAN).getFloat((int) weight.offset() + 396));
        nvccCompiles(PlanBuilder.CONST_COPY_SOURCE);
    }

    @Test void oneCopyKernelServesSeveralConstantOutputs() {
        GraphBuilder b = new GraphBuilder("two-consts");
        Value x = b.input("x", TensorType.of(DType.I64, 3));
        b.output(b.op("Neg", x));
        b.output(b.constant("a", Tensor.vector(1, 2, 3)));
        b.output(b.constant("z", Tensor.vector(7)));
        ExecutionPlan p = Kiln.compile(b.build(), OPTS).plan();
        assertEquals(1, p.kernels().stream().filter(k -> k.entry().equals(PlanBuilder.CONST_COPY_ENTRY)).count());
        ExecutionPlan.Slot a = p.outputs().get(1), z = p.outputs().get(2);
        assertEquals(24, a.bytes());
        assertEquals(8, z.bytes());
        assertEquals(a.offset() + 256, z.offset(), "each constant output gets its own 256-aligned slot");
        assertEquals(2, p.launches().stream().filter(l -> p.kernels().get(l.kernel()).entry().equals(PlanBuilder.CONST_COPY_ENTRY)).count());
    }

    static void nvccCompiles(String source) throws Exception {
        String nvcc = null;
        for (String d : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator))
            if (Files.isExecutable(Path.of(d, "nvcc"))) { nvcc = Path.of(d, "nvcc").toString(); break; }
        Assumptions.assumeTrue(nvcc != null, "nvcc not on PATH: CUDA compile check skipped");
        Path dir = Files.createTempDirectory("kiln-const-copy");
        Path cu = dir.resolve("k.cu");
        Files.writeString(cu, source);
        Process pr = new ProcessBuilder(nvcc, "-ptx", "-arch=sm_90", "-o", dir.resolve("k.ptx").toString(), cu.toString())
                .redirectErrorStream(true).start();
        String log = new String(pr.getInputStream().readAllBytes());
        assertEquals(0, pr.waitFor(), log);
    }
}
