package dev.kiln.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KernelCacheTest {
    static final CompileRequest REQ = CompileRequest.of("extern \"C\" __global__ void k() {}", "k.cu", "sm_90", "-std=c++17");

    @TempDir
    Path dir;

    @Test
    void keyChangesWithEachField() {
        var cache = new KernelCache(dir, new FakeCompiler(0));
        String k = cache.key(REQ);
        assertEquals(64, k.length());
        assertEquals(k, cache.key(CompileRequest.of(REQ.source(), "other-name.cu", "sm_90", "-std=c++17")), "the file name is only for diagnostics");
        assertNotEquals(k, cache.key(CompileRequest.of(REQ.source() + " ", "k.cu", "sm_90", "-std=c++17")));
        assertNotEquals(k, cache.key(CompileRequest.of(REQ.source(), "k.cu", "sm_90", "-std=c++20")));
        assertNotEquals(k, cache.key(CompileRequest.of(REQ.source(), "k.cu", "sm_80", "-std=c++17")));
        assertNotEquals(k, new KernelCache(dir, new FakeCompiler(0) {
            @Override public String version() { return "fake-2"; }
        }).key(REQ));
        assertNotEquals(cache.key(CompileRequest.of("a", "k.cu", "sm_90", "b", "c")), cache.key(CompileRequest.of("a", "k.cu", "sm_90", "bc")));
    }

    @Test
    void compilesOnceThenServesFromMemoryThenFromDisk() {
        var fake = new FakeCompiler(0);
        var cache = new KernelCache(dir, fake);
        var first = cache.get(REQ);
        assertArrayEquals(first.cubin(), cache.get(REQ).cubin());
        assertEquals(1, cache.compiles());
        assertEquals(1, cache.memoryHits());

        var again = new KernelCache(dir, fake);
        var loaded = again.get(REQ);
        assertEquals(1, again.diskHits());
        assertEquals(0, again.compiles());
        assertArrayEquals(first.cubin(), loaded.cubin());
        assertArrayEquals(first.ptx(), loaded.ptx());
        assertEquals(first.log(), loaded.log());
        assertEquals("sm_90", loaded.arch());
    }

    @Test
    void writesAtomicallyLeavingNoTempFiles() throws Exception {
        new KernelCache(dir, new FakeCompiler(0)).get(REQ);
        try (var files = Files.list(dir)) {
            List<String> names = files.map(p -> p.getFileName().toString()).sorted().toList();
            assertTrue(names.stream().noneMatch(n -> n.endsWith(".tmp")), names.toString());
            assertEquals(1, names.stream().filter(n -> n.endsWith(".kbin")).count(), names.toString());
        }
    }

    @Test
    void truncatedEntryIsDiscardedAndRecompiled() throws Exception {
        var fake = new FakeCompiler(0);
        Path entry = new KernelCache(dir, fake).entryPath(REQ);
        new KernelCache(dir, fake).get(REQ);
        byte[] whole = Files.readAllBytes(entry);
        Files.write(entry, Arrays.copyOf(whole, whole.length - 3));

        var cache = new KernelCache(dir, fake);
        var k = cache.get(REQ);
        assertEquals(1, cache.discarded());
        assertTrue(cache.discardReasons().getFirst().contains("header says"), cache.discardReasons().toString());
        assertEquals(1, cache.compiles());
        assertEquals(REQ.source(), new String(k.cubin(), StandardCharsets.UTF_8));
        assertArrayEquals(whole, Files.readAllBytes(entry), "the entry was rewritten whole");
    }

    @Test
    void flippedByteIsCaughtByTheChecksum() throws Exception {
        var fake = new FakeCompiler(0);
        new KernelCache(dir, fake).get(REQ);
        Path entry = new KernelCache(dir, fake).entryPath(REQ);
        byte[] bytes = Files.readAllBytes(entry);
        bytes[bytes.length - 5] ^= 0x40;
        Files.write(entry, bytes);
        var cache = new KernelCache(dir, fake);
        cache.get(REQ);
        assertEquals(1, cache.discarded());
        assertTrue(cache.discardReasons().getFirst().contains("checksum"), cache.discardReasons().toString());
    }

    @Test
    void garbageAndEmptyFilesAreRejected() {
        assertThrows(CacheEntry.Corrupt.class, () -> CacheEntry.decode(new byte[0]));
        byte[] junk = new byte[100];
        assertThrows(CacheEntry.Corrupt.class, () -> CacheEntry.decode(junk));
    }

    @Test
    void concurrentCachesOnOneFolderCompileOnce() throws Exception {
        var fake = new FakeCompiler(200);
        var pool = Executors.newFixedThreadPool(8);
        try {
            var tasks = new ArrayList<Callable<CompiledKernel>>();
            for (int i = 0; i < 8; i++) {
                var cache = new KernelCache(dir, fake); // one instance per "process"
                tasks.add(() -> cache.get(REQ));
            }
            for (Future<CompiledKernel> f : pool.invokeAll(tasks)) assertEquals(REQ.source(), new String(f.get().cubin(), StandardCharsets.UTF_8));
        } finally {
            pool.shutdown();
        }
        assertEquals(1, fake.calls.get());
    }

    @Test
    void secondJvmCompilingTheSameKernelAtOnceIsSafe() throws Exception {
        Process other = CacheWorker.start(dir.toString(), "fake", REQ.source(), "sm_90");
        var fake = new FakeCompiler(700);
        var cache = new KernelCache(dir, fake);
        var mine = new CompileRequest(REQ.source(), "worker.cu", List.of(), "sm_90");
        var k = cache.get(mine);
        String out = new String(other.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertEquals(0, other.waitFor(), out);
        assertTrue(out.startsWith("compiles="), out);
        int theirs = Integer.parseInt(out.replaceAll(".*compiles=(\\d+).*", "$1"));
        assertTrue(theirs + cache.compiles() >= 1 && theirs + cache.compiles() <= 2, out);
        assertEquals(REQ.source(), new String(k.cubin(), StandardCharsets.UTF_8));
        // whatever the interleaving, the entry on disk is whole and a third reader gets it
        var third = new KernelCache(dir, new FakeCompiler(0));
        third.get(mine);
        assertEquals(1, third.diskHits(), out);
        assertEquals(0, third.discarded());
    }

    @Test
    void defaultDirHonoursKilnCacheDir() {
        assertEquals(Path.of("/tmp/kc"), KernelCache.defaultDir(Map.of("KILN_CACHE_DIR", "/tmp/kc")));
        assertTrue(KernelCache.defaultDir(Map.of()).endsWith(Path.of(".cache", "kiln")));
    }
}
