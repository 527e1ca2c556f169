package dev.kiln.exec;

import dev.kiln.CompileOptions;
import dev.kiln.CompiledModel;
import dev.kiln.Kiln;
import dev.kiln.TestModels;
import dev.kiln.bundle.BundleReader;
import dev.kiln.ir.DType;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.ir.ref.Interpreter;
import dev.kiln.runtime.plan.ExecutionPlan;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.*;

/** Layers that differ only in their weights compile to one kernel, stored once in plans and bundles. */
class SharedKernelsTest {
    static final CompileOptions OPTS = CompileOptions.defaults().withArch("sm_90");

    /** {@code layers} times x = Relu(x @ w_i + b_i), each layer with its own random weights and bias. */
    static dev.kiln.ir.Graph mlp(int layers) {
        Random r = new Random(7);
        GraphBuilder b = new GraphBuilder("mlp");
        Value x = b.input("x", TensorType.of(DType.F32, 4, 16));
        for (int i = 0; i < layers; i++) {
            double[] w = new double[16 * 16], bias = new double[16];
            for (int j = 0; j < w.length; j++) w[j] = r.nextGaussian() * 0.25;
            for (int j = 0; j < bias.length; j++) bias[j] = r.nextGaussian();
            Value mm = b.node("MatMul", List.of(x, b.constant("w" + i, Tensor.f32(new long[] {16, 16}, w))), java.util.Map.of(), null, "layer" + i + "/MatMul").get(0);
            Value add = b.node("Add", List.of(mm, b.constant("b" + i, Tensor.f32(new long[] {16}, bias))), java.util.Map.of(), null, "layer" + i + "/Add").get(0);
            x = b.node("Relu", List.of(add), java.util.Map.of(), null, "layer" + i + "/Relu").get(0);
        }
        return b.output(x).build();
    }

    @Test void fourLayersRunOneKernelFourTimes() {
        try (CompiledModel m = Kiln.compile(mlp(4), OPTS)) {
            ExecutionPlan p = m.plan();
            assertEquals(4, p.launches().size());
            assertEquals(1, p.kernels().size(), "the weights and biases are arguments, not baked into the source");
            assertEquals("4 launches of 1 distinct kernel", m.report().kernelSummary());
            assertTrue(m.report().toString().startsWith("compiled mlp for sm_90 in "), m.report().toString());
            for (int i = 0; i < 4; i++) {
                assertEquals(0, p.launches().get(i).kernel());
                assertEquals(List.of("layer" + i + "/MatMul", "layer" + i + "/Add", "layer" + i + "/Relu"), List.of(p.launches().get(i).label().split(",")));
            }
            Tensor in = TestModels.random(5, 4, 16);
            assertEquals(Interpreter.run(mlp(4), List.of(in)), m.runReference(List.of(in)));
        }
    }

    @Test void aBundleStoresEachDistinctKernelOnce(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("mlp.kiln");
        try (CompiledModel m = Kiln.compile(mlp(3), OPTS)) {
            dev.kiln.bundle.BundleWriter.write(m, f, dev.kiln.bundle.BundleWriter.Binaries.NONE);
        }
        try (ZipFile z = new ZipFile(f.toFile())) {
            assertEquals(1, z.stream().filter(e -> e.getName().startsWith("kernels/") && e.getName().endsWith(".cu")).count());
        }
        ExecutionPlan back = BundleReader.read(f).model().plan();
        assertEquals(3, back.launches().size());
        assertEquals(1, back.kernels().size());
    }

    @Test void dumpsWriteEachLaunchWithTheNodesItAbsorbed(@TempDir Path dir) throws Exception {
        try (CompiledModel m = Kiln.compile(mlp(2), OPTS.withDumpDir(dir))) {
            List<Path> cus;
            try (var s = Files.list(dir.resolve("kernels"))) { cus = s.sorted().toList(); }
            assertEquals(2, cus.size(), "one file per launch");
            for (int i = 0; i < 2; i++) {
                String text = Files.readString(cus.get(i));
                assertTrue(text.startsWith("// Kiln kernel for layer" + i + "/MatMul,layer" + i + "/Add,layer" + i + "/Relu\n"), text);
                assertTrue(text.contains("%w" + i + ", %b" + i), "the arguments name the weights:\n" + text);
                assertTrue(text.endsWith(m.plan().kernels().get(0).source()), "then the shared source");
            }
        }
    }
}
