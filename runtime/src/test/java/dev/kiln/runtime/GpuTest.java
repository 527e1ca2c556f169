package dev.kiln.runtime;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;

/** Base of the tests that need a GPU: tagged {@code gpu}, skipped with the reason when there is none. */
@Tag("gpu")
abstract class GpuTest {
    static Context ctx;
    static KernelCache cache;

    static final String KERNELS = """
            extern "C" __global__ void axpy(float* y, const float* x, float a, int n) {
                int i = blockIdx.x * blockDim.x + threadIdx.x;
                if (i < n) y[i] = a * x[i] + y[i];
            }
            // order-sensitive on purpose: a skipped or reordered launch changes the result
            extern "C" __global__ void step(float* y, const float* x, int n, int k) {
                int i = blockIdx.x * blockDim.x + threadIdx.x;
                if (i < n) y[i] = y[i] * 0.5f + x[i] * (float) k;
            }
            """;

    /** Per test rather than per class, so that each skipped test carries the reason in the report. */
    @BeforeEach
    void openDevice() throws Exception {
        Assumptions.assumeTrue(Cuda.available(), () -> "no usable GPU, skipping GPU tests: " + Cuda.unavailableReason());
        if (ctx == null || ctx.isClosed()) ctx = Context.open(0);
        if (cache == null) cache = new KernelCache(Files.createTempDirectory("kiln-gpu-test-cache"), NvrtcCompiler.standard());
    }

    @AfterAll
    static void sync() {
        if (ctx != null && !ctx.isClosed()) ctx.synchronize();
    }

    static Path tempDir() throws Exception {
        return Files.createTempDirectory("kiln-gpu-test");
    }

    static float[] random(int n, long seed) {
        var r = new java.util.Random(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = r.nextFloat() * 2 - 1;
        return a;
    }
}
