package dev.kiln.runtime.plan;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.runtime.Context;
import dev.kiln.runtime.Cuda;
import dev.kiln.runtime.DeviceBuffer;
import dev.kiln.runtime.KernelCache;
import dev.kiln.runtime.NvrtcCompiler;
import dev.kiln.runtime.Progress;

import java.nio.file.Files;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The weights' upload begun before the plan exists: the executor takes it, and a wrong size is refused, not used. */
@Tag("gpu")
class WeightUploadGpuTest {
    /** Copies n bytes of the weights block into the arena (the plan's one output). */
    private static final String COPY = """
            extern "C" __global__ void copy_weights(const unsigned char* w, unsigned char* out, long long n) {
              for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)blockDim.x * gridDim.x) out[i] = w[i];
            }
            """;

    @BeforeEach
    void gpu() {
        Assumptions.assumeTrue(Cuda.available(), () -> "no usable GPU, skipping GPU tests: " + Cuda.unavailableReason());
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void theExecutorRunsOnTheUploadItWasGiven() throws Exception {
        int n = 40 << 20; // three 16 MiB staging chunks
        byte[] w = random(n, 7);
        ExecutionPlan plan = new ExecutionPlan("copy", List.of(new ExecutionPlan.KernelSource("copy_weights", COPY, "copy_weights")), n, w,
                List.of(new ExecutionPlan.Slot("w", 0, n)),
                List.of(new ExecutionPlan.Launch(0, ExecutionPlan.Dims.of(1024), ExecutionPlan.Dims.of(256), 0,
                        List.of(new ExecutionPlan.Arg.WeightPtr(0), new ExecutionPlan.Arg.ArenaPtr(0), new ExecutionPlan.Arg.I64(n)))),
                List.of(), List.of(new ExecutionPlan.Slot("out", 0, n)));
        var cache = new KernelCache(Files.createTempDirectory("kiln-upload-test"), NvrtcCompiler.standard());
        try (Context ctx = Context.open(0)) {
            WeightUpload u = WeightUpload.start(ctx, w);
            try (PlanExecutor e = PlanExecutor.open(plan, ctx, cache, List.of(), Progress.NONE, u)) {
                assertArrayEquals(w, e.run(List.of()).getFirst());
                assertTrue(u.nanos() > 0, "the upload says how long it took");
                assertThrows(IllegalStateException.class, () -> u.take(n), "its buffer is the executor's now");
            }
            u.close(); // nothing left to free
        }
    }

    @Test
    void aBlockOfAnotherSizeIsNotTakenAndCloseFreesIt() {
        byte[] w = random(1 << 20, 9);
        try (Context ctx = Context.open(0)) {
            WeightUpload u = WeightUpload.start(ctx, w);
            assertNull(u.take(w.length + 1), "a plan with another weights size uploads its own");
            WeightUpload v = WeightUpload.start(ctx, w);
            try (DeviceBuffer d = v.take(w.length)) {
                assertArrayEquals(w, d.downloadBytes(w.length));
            }
            WeightUpload unused = WeightUpload.start(ctx, w);
            unused.close();
            unused.close(); // twice is harmless
        }
    }
}
