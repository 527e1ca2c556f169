package dev.kiln;

import dev.kiln.bundle.BundleWriter;
import dev.kiln.ir.Tensor;
import dev.kiln.runtime.Cuda;
import dev.kiln.runtime.plan.KernelBinary;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Compile, run on the GPU, compare with the reference interpreter. Skips without a GPU. */
@Tag("gpu")
class GpuRunTest {
    /** fp32 elementwise: the GPU's expf/sigmoid may differ from Java's by a few ulp. */
    static final double F32_TOL = 1e-5;

    @BeforeAll static void gpu() { assumeTrue(Cuda.available(), () -> "no GPU: " + Cuda.unavailableReason()); }

    static void close(List<Tensor> want, List<Tensor> got) {
        assertEquals(want.size(), got.size());
        for (int k = 0; k < want.size(); k++) {
            assertEquals(want.get(k).type(), got.get(k).type());
            double[] w = want.get(k).toDoubles(), g = got.get(k).toDoubles();
            for (int i = 0; i < w.length; i++)
                assertEquals(w[i], g[i], F32_TOL * (1 + Math.abs(w[i])), "output " + k + " element " + i);
        }
    }

    @Test void reluAddMatchesHandValues() {
        try (CompiledModel m = Kiln.compile(TestModels.reluAdd(), CompileOptions.defaults())) {
            assertEquals(List.of(TestModels.RELU_X_PLUS_W), m.run(List.of(TestModels.X)));
            assertEquals(List.of(KernelBinary.LoadMode.NVRTC), m.loadModes()); // one fused kernel
        }
    }

    @Test void chainMatchesReferenceOverManyReplays() {
        try (CompiledModel m = Kiln.compile(TestModels.chain(5), CompileOptions.defaults())) {
            for (int r = 0; r < 5; r++) {
                List<Tensor> in = List.of(TestModels.random(100 + r, 64, 1024));
                close(m.runReference(in), m.run(in));
            }
            assertEquals(5, m.executor().runs());
            assertTrue(m.executor().lastRunMillis() > 0);
            assertTrue(m.executor().loadMillis() >= m.executor().compileMillis());
        }
    }

    @Test void onnxModelRuns() {
        try (CompiledModel m = Kiln.compile(TestModels.reluAddOnnx(), "relu_add", CompileOptions.defaults())) {
            assertEquals(List.of(TestModels.RELU_X_PLUS_W), m.run(List.of(TestModels.X)));
        }
    }

    @Test void bundleLoadsFromCubinWithoutCompiling(@TempDir Path dir) {
        Path f = dir.resolve("chain.kiln");
        List<Tensor> in = List.of(TestModels.random(9, 64, 1024));
        List<Tensor> want;
        try (CompiledModel m = Kiln.compile(TestModels.chain(6), CompileOptions.defaults())) {
            m.save(f);
            want = m.runReference(in);
        }
        try (CompiledModel back = Kiln.load(f)) {
            close(want, back.run(in));
            assertTrue(back.loadModes().stream().allMatch(x -> x == KernelBinary.LoadMode.CUBIN), back.loadModes().toString());
        }
    }

    @Test void bundleForAnotherArchFallsBackToPtx(@TempDir Path dir) {
        Path f = dir.resolve("other.kiln");
        List<Tensor> in = List.of(TestModels.random(11, 64, 1024));
        try (CompiledModel m = Kiln.compile(TestModels.chain(7), CompileOptions.defaults().withArch("sm_80"))) {
            BundleWriter.write(m, f, BundleWriter.Binaries.AUTO);
            try (CompiledModel back = Kiln.load(f)) {
                close(m.runReference(in), back.run(in));
                // an sm_80 CUBIN does not load on a newer GPU; its compute_80 PTX JITs
                if (!back.executor().plan().kernels().isEmpty() && !dev.kiln.runtime.Device.get(0).arch().equals("sm_80"))
                    assertTrue(back.loadModes().stream().allMatch(x -> x == KernelBinary.LoadMode.PTX), back.loadModes().toString());
            }
        }
    }

    @Test void bundleWithoutBinariesCompilesWithNvrtc(@TempDir Path dir) {
        Path f = dir.resolve("src.kiln");
        try (CompiledModel m = Kiln.compile(TestModels.reluAdd(), CompileOptions.defaults())) {
            BundleWriter.write(m, f, BundleWriter.Binaries.NONE);
        }
        try (CompiledModel back = Kiln.load(f)) {
            assertEquals(List.of(TestModels.RELU_X_PLUS_W), back.run(List.of(TestModels.X)));
            assertEquals(List.of(KernelBinary.LoadMode.NVRTC), back.loadModes());
        }
    }
}
