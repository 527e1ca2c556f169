package dev.kiln.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The compile pool and the cache under it: parallel batches, one compile per key, PTX only when asked. */
class ParallelCompileTest {
    @TempDir
    Path dir;

    /** CUBIN = the source bytes; PTX separately, counted; records which threads compiled at once. */
    static final class CubinOnly implements KernelCompiler {
        final AtomicInteger cubins = new AtomicInteger(), ptx = new AtomicInteger(), running = new AtomicInteger(), peak = new AtomicInteger();
        final Set<String> threads = ConcurrentHashMap.newKeySet();

        public String version() { return "fake-cubin-only"; }

        public CompiledKernel compile(CompileRequest r) {
            if (r.source().contains("#error")) throw new CompileException(r, "error: " + r.name());
            cubins.incrementAndGet();
            threads.add(Thread.currentThread().getName());
            peak.accumulateAndGet(running.incrementAndGet(), Math::max);
            try {
                Thread.sleep(30);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                running.decrementAndGet();
            }
            return new CompiledKernel(r.arch(), r.source().getBytes(StandardCharsets.UTF_8), new byte[0], "");
        }

        @Override public byte[] ptx(CompileRequest r) {
            ptx.incrementAndGet();
            return ("ptx of " + r.source()).getBytes(StandardCharsets.UTF_8);
        }
    }

    static CompileRequest req(String body) { return CompileRequest.of("// " + body + "\n", body + ".cu", "sm_90"); }

    @Test
    void aBatchCompilesEachKeyOnceInParallelAndAnswersInRequestOrder() {
        var fake = new CubinOnly();
        var cache = new KernelCache(dir, fake);
        List<CompileRequest> rs = new ArrayList<>();
        for (int i = 0; i < 24; i++) rs.add(req("k" + i % 8)); // 8 distinct kernels, each asked for 3 times
        List<int[]> seen = new ArrayList<>();
        List<CompiledKernel> out = cache.getAll(rs, (step, done, total) -> { synchronized (seen) { seen.add(new int[] {done, total}); } });
        for (int i = 0; i < rs.size(); i++) assertEquals(rs.get(i).source(), new String(out.get(i).cubin(), StandardCharsets.UTF_8));
        assertEquals(8, fake.cubins.get(), "same key at once: compiled once");
        assertEquals(8, cache.compiles());
        assertEquals(0, fake.ptx.get(), "a JIT batch never compiles PTX");
        assertEquals(24, seen.size());
        assertTrue(seen.stream().anyMatch(p -> p[0] == 24 && p[1] == 24), "progress reaches 24/24");
        if (CompilePool.THREADS > 1) assertTrue(fake.peak.get() > 1, "compiles overlapped, peak " + fake.peak.get());
        assertTrue(fake.threads.stream().allMatch(t -> t.startsWith("kiln-nvrtc-")), fake.threads.toString());
    }

    @Test
    void theFirstFailureInRequestOrderIsThrownAsIs() {
        var cache = new KernelCache(dir, new CubinOnly());
        var e = assertThrows(CompileException.class, () -> cache.getAll(List.of(req("ok"), req("a #error"), req("b #error")), Progress.NONE));
        assertTrue(e.getMessage().contains("a #error.cu"), e.getMessage());
        assertEquals(1, cache.compiles(), "the good kernel still compiled");
    }

    @Test
    void ptxIsCompiledOnlyWhenAskedAndThenStored() {
        var fake = new CubinOnly();
        CompileRequest r = req("bundle-me");
        CompiledKernel jit = new KernelCache(dir, fake).get(r);
        assertEquals(0, jit.ptx().length);
        var bundling = new KernelCache(dir, fake);
        CompiledKernel full = bundling.getWithPtx(r);
        assertEquals(1, bundling.diskHits());
        assertEquals(0, bundling.compiles(), "the CUBIN came from disk");
        assertEquals(1, bundling.ptxCompiles());
        assertArrayEquals(jit.cubin(), full.cubin());
        assertEquals("ptx of " + r.source(), new String(full.ptx(), StandardCharsets.UTF_8));
        assertSame(full, bundling.getWithPtx(r), "then from memory");
        var later = new KernelCache(dir, fake);
        assertArrayEquals(full.ptx(), later.getWithPtx(r).ptx(), "the entry on disk now holds the PTX");
        assertEquals(0, later.ptxCompiles());
        assertEquals(1, fake.cubins.get());
        assertEquals(1, fake.ptx.get());
    }

    @Test
    void theTerminalLineRedrawsInPlaceAndClears() {
        var bytes = new ByteArrayOutputStream();
        var line = new TerminalProgress(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        line.update("NVRTC", 1, 170);
        line.update("NVRTC", 2, 170); // within 100 ms of the last draw: skipped
        line.update("NVRTC", 170, 170); // the last one always shows
        line.clear();
        assertEquals("\rNVRTC 1/170\u001b[K\rNVRTC 170/170\u001b[K\r\u001b[K", bytes.toString(StandardCharsets.UTF_8));
    }
}
