package dev.kiln.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class KernelGpuTest extends GpuTest {

    @Test
    void generatedKernelMatchesJava() {
        int n = 100_003;
        float[] x = random(n, 10), y = random(n, 11);
        float a = 1.75f;
        float[] want = new float[n];
        for (int i = 0; i < n; i++) want[i] = a * x[i] + y[i];
        try (var m = cache.load(ctx, KERNELS, "kernels.cu"); var s = ctx.createStream();
             var dx = ctx.allocate(4L * n); var dy = ctx.allocate(4L * n)) {
            dx.upload(x);
            dy.upload(y);
            m.kernel("axpy").launch(s, Dim3.cover(n, 256), Dim3.of(256), 0, new KernelArgs(4).pointer(dy).pointer(dx).f32(a).i32(n));
            s.synchronize();
            float[] got = dy.downloadFloats(n);
            for (int i = 0; i < n; i++) assertEquals(want[i], got[i], 1e-6f * Math.max(1, Math.abs(want[i])), "element " + i);
        }
    }

    @Test
    void compiledKernelHasCubinForThisGpuAndPtxWhenAskedFor() {
        var req = new CompileRequest(KERNELS + "// ptx-test\n", "kernels.cu", NvrtcCompiler.defaultOptions(), ctx.device().arch());
        assertEquals(0, cache.get(req).ptx().length, "a JIT run compiles the CUBIN only");
        var k = cache.getWithPtx(req);
        assertTrue(k.cubin().length > 0);
        String ptx = new String(k.ptx(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(ptx.contains(".entry axpy"), ptx.substring(0, Math.min(400, ptx.length())));
        try (var fromPtx = CudaModule.load(ctx, k.ptx())) {
            fromPtx.kernel("step"); // the PTX alone loads and has the kernels
        }
    }

    @Test
    void compileErrorShowsLogAndSourceLine() {
        String bad = "extern \"C\" __global__ void broken(float* p) {\n  p[0] = not_declared;\n}\n";
        var e = assertThrows(CompileException.class, () -> cache.load(ctx, bad, "broken.cu"));
        assertTrue(e.getMessage().contains("not_declared"), e.getMessage());
        assertTrue(e.getMessage().contains(">    2 |   p[0] = not_declared;"), e.getMessage());
    }

    @Test
    void unknownKernelNameIsATypedError() {
        try (var m = cache.load(ctx, KERNELS, "kernels.cu")) {
            var e = assertThrows(CudaException.class, () -> m.kernel("nope"));
            assertEquals("CUDA_ERROR_NOT_FOUND", e.errorName());
        }
    }

    @Test
    void launchAfterModuleCloseIsAnError() {
        var m = cache.load(ctx, KERNELS, "kernels.cu");
        var k = m.kernel("axpy");
        m.close();
        try (var s = ctx.createStream(); var d = ctx.allocate(4)) {
            assertThrows(ResourceClosedException.class,
                    () -> k.launch(s, Dim3.of(1), Dim3.of(1), 0, new KernelArgs(4).pointer(d).pointer(d).f32(1).i32(1)));
        }
    }

    @Test
    void eventsTimeDeviceWork() {
        try (var s = ctx.createStream(); var a = ctx.createEvent(); var b = ctx.createEvent(); var buf = ctx.allocate(64 << 20)) {
            a.record(s);
            buf.fillAsync((byte) 1, s);
            b.record(s);
            float ms = b.elapsedMillis(a);
            assertTrue(ms > 0 && ms < 1000, "ms=" + ms);
            assertArrayEquals(new byte[] {1, 1}, buf.downloadBytes(2));
        }
    }
}
