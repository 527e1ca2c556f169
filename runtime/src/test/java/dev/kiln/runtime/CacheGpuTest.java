package dev.kiln.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Test;

class CacheGpuTest extends GpuTest {

    @Test
    void corruptedEntryIsRecompiledAndStillRuns() throws Exception {
        var dir = tempDir();
        var req = new CompileRequest(KERNELS + "// corrupt-test\n", "k.cu", List.of(), ctx.device().arch());
        new KernelCache(dir, NvrtcCompiler.standard()).get(req);
        var entry = new KernelCache(dir, NvrtcCompiler.standard()).entryPath(req);
        byte[] bytes = Files.readAllBytes(entry);
        bytes[bytes.length / 2] ^= 0x11;
        Files.write(entry, bytes);

        var fresh = new KernelCache(dir, NvrtcCompiler.standard());
        var k = fresh.get(req);
        assertEquals(1, fresh.discarded());
        assertEquals(1, fresh.compiles());
        try (var m = CudaModule.load(ctx, k)) {
            m.kernel("axpy");
        }
        var third = new KernelCache(dir, NvrtcCompiler.standard());
        third.get(req);
        assertEquals(1, third.diskHits());
    }

    @Test
    void secondJvmCompilingTheSameKernelAtOnceIsSafe() throws Exception {
        var dir = tempDir();
        String src = KERNELS + "// two-jvm-test " + System.nanoTime() + "\n";
        Process other = CacheWorker.start(dir.toString(), "nvrtc", src, ctx.device().arch());
        var cache = new KernelCache(dir, NvrtcCompiler.standard());
        var k = cache.get(new CompileRequest(src, "worker.cu", List.of(), ctx.device().arch()));
        String out = new String(other.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertEquals(0, other.waitFor(), out);
        assertTrue(out.contains("bytes=" + k.cubin().length), out + " vs " + k.cubin().length);
        try (var m = CudaModule.load(ctx, k)) {
            m.kernel("step");
        }
    }
}
