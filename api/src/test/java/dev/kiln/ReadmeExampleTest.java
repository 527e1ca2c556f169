package dev.kiln;

import dev.kiln.ir.DType;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.runtime.Cuda;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The README's JIT example, kept compiling and correct. */
class ReadmeExampleTest {
    static final Tensor W1 = Tensor.ofDoubles(DType.F32, new long[] {784, 128}, ramp(784 * 128, 1e-3));
    static final Tensor INPUT = Tensor.ofDoubles(DType.F32, new long[] {8, 784}, ramp(8 * 784, 1e-2));

    static double[] ramp(int n, double scale) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = ((i * 37) % 101 - 50) * scale;
        return v;
    }

    static CompiledModel readmeExample() {
        GraphBuilder b = new GraphBuilder("mlp");
        Value x = b.input("x", TensorType.of(DType.F32, 8, 784));
        Value h = b.op("Relu", b.op("MatMul", x, b.constant("w1", W1)));
        b.output(h);
        return Kiln.compile(b.build(), CompileOptions.defaults().withArch("sm_90"));
    }

    @Test void compilesToOneMatmulKernelWithReluFused() {
        try (CompiledModel m = readmeExample()) {
            assertEquals(1, m.plan().kernels().size(), m.report().toString()); // MatMul + Relu epilogue
            List<Tensor> ref = m.runReference(List.of(INPUT));
            assertEquals(new long[] {8, 128}.length, ref.get(0).rank());
            for (double v : ref.get(0).toDoubles()) assertTrue(v >= 0);
        }
    }

    @Tag("gpu") @Test void runsOnTheGpuLikeTheReference() {
        Assumptions.assumeTrue(Cuda.available(), "no usable GPU: run `kiln doctor`");
        try (CompiledModel m = readmeExample()) {
            double[] gpu = m.run(List.of(INPUT)).get(0).toDoubles();
            double[] ref = m.runReference(List.of(INPUT)).get(0).toDoubles();
            for (int i = 0; i < gpu.length; i++) assertEquals(ref[i], gpu[i], 1e-5 + 1e-4 * Math.abs(ref[i]), "element " + i);
        }
    }
}
