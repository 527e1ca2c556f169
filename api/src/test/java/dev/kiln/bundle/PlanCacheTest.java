package dev.kiln.bundle;

import dev.kiln.CompileOptions;
import dev.kiln.CompiledModel;
import dev.kiln.Kiln;
import dev.kiln.TestModels;
import dev.kiln.exec.RandomInputs;
import dev.kiln.frontend.TensorCodec;
import dev.kiln.frontend.proto.Onnx;
import dev.kiln.ir.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The plan cache on the reference backend: hits equal misses bit for bit, any change misses, damage and races are survived. */
class PlanCacheTest {
    private static final Path BERT_TINY = Path.of("../../shared/onnx-tests/models/bert_tiny/model.onnx");
    private static final CompileOptions OPTS = CompileOptions.defaults().withArch("sm_90").withTune(CompileOptions.Tune.NONE)
            .withVerifyEach(false).withPlanCache(true);

    private static Path model(Path dir) throws IOException {
        Path src = Files.isRegularFile(BERT_TINY) ? BERT_TINY : Path.of("../shared/onnx-tests/models/bert_tiny/model.onnx");
        if (Files.isRegularFile(src)) return Files.copy(src, dir.resolve("model.onnx"));
        return Files.write(dir.resolve("model.onnx"), TestModels.reluAddOnnx()); // a checkout without the shared models
    }

    private static List<Path> entries(PlanCache c) throws IOException {
        if (!Files.isDirectory(c.dir())) return List.of();
        try (Stream<Path> s = Files.list(c.dir())) {
            return s.sorted().toList();
        }
    }

    @Test void hitSkipsTheCompilerAndGivesBitIdenticalOutputs(@TempDir Path dir) throws IOException {
        Path f = model(dir);
        PlanCache cache = new PlanCache(dir.resolve("plans"), PlanCache.DEFAULT_MAX_BYTES);
        try (CompiledModel miss = Kiln.compile(f, OPTS, cache)) {
            PlanCache.awaitWrites();
            assertFalse(miss.report().planCacheHit());
            assertEquals(1, entries(cache).size(), "one entry after a miss");
            try (CompiledModel hit = Kiln.compile(f, OPTS, cache)) {
                assertTrue(hit.report().planCacheHit(), hit.report().headline());
                assertTrue(hit.report().headline().startsWith("plan cache hit"), hit.report().headline());
                assertEquals(miss.plan(), hit.plan());
                List<Tensor> in = RandomInputs.of(miss.graph(), Map.of(), 7);
                List<Tensor> a = miss.runReference(in), b = hit.runReference(in);
                assertEquals(a.size(), b.size());
                for (int i = 0; i < a.size(); i++) assertArrayEquals(a.get(i).storage(), b.get(i).storage(), "output " + i);
            }
        }
    }

    @Test void aChangedModelByteOrOptionMisses(@TempDir Path dir) throws IOException {
        Path f = model(dir);
        String base = PlanCache.key(f, OPTS, "sm_90");
        assertEquals(base, PlanCache.key(f, OPTS, "sm_90"), "the key is a function of its inputs");
        assertNotEquals(base, PlanCache.key(f, OPTS.withPrecision(CompileOptions.Precision.FP16), "sm_90"));
        assertNotEquals(base, PlanCache.key(f, OPTS.withChannelsLast(!OPTS.channelsLast()), "sm_90"));
        assertNotEquals(base, PlanCache.key(f, OPTS.withF32Residuals(!OPTS.f32Residuals()), "sm_90"));
        assertNotEquals(base, PlanCache.key(f, OPTS.withFuseViews(!OPTS.fuseViews()), "sm_90"));
        assertNotEquals(base, PlanCache.key(f, OPTS.withAllowTf32(true), "sm_90"));
        assertNotEquals(base, PlanCache.key(f, OPTS.withTune(CompileOptions.Tune.FULL), "sm_90"));
        assertNotEquals(base, PlanCache.key(f, OPTS, "sm_80"));
        System.setProperty("kiln.gemm.wgmma", "false"); // a codegen switch outside CompileOptions
        try {
            assertNotEquals(base, PlanCache.key(f, OPTS, "sm_90"));
        } finally {
            System.clearProperty("kiln.gemm.wgmma");
        }
        byte[] bytes = Files.readAllBytes(f);
        for (int at : new int[] {bytes.length / 3, bytes.length - 1}) { // somewhere inside, and the last byte
            byte[] changed = bytes.clone();
            changed[at] ^= 1;
            Path g = Files.write(dir.resolve("changed-" + at + ".onnx"), changed);
            assertNotEquals(base, PlanCache.key(g, OPTS, "sm_90"), "byte " + at);
        }
        // and a compile through the cache of a changed option is a miss, not the first entry
        PlanCache cache = new PlanCache(dir.resolve("plans"), PlanCache.DEFAULT_MAX_BYTES);
        try (CompiledModel a = Kiln.compile(f, OPTS, cache)) {
            PlanCache.awaitWrites();
        }
        try (CompiledModel b = Kiln.compile(f, OPTS.withFuseViews(!OPTS.fuseViews()), cache)) {
            assertFalse(b.report().planCacheHit());
        }
        PlanCache.awaitWrites();
        assertEquals(2, entries(cache).size());
    }

    @Test void externalDataIsPartOfTheKey(@TempDir Path dir) throws IOException {
        float[] w = {1, -2, 3, -4, 5, -6};
        Path data = dir.resolve("weights.bin");
        ByteBuffer b = ByteBuffer.allocate(4 * w.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : w) b.putFloat(x);
        Files.write(data, b.array());
        Onnx.TensorProto t = TensorCodec.encode(TestModels.W, "w").toBuilder().clearRawData()
                .setDataLocation(Onnx.TensorProto.DataLocation.EXTERNAL)
                .addExternalData(Onnx.StringStringEntryProto.newBuilder().setKey("location").setValue("weights.bin"))
                .addExternalData(Onnx.StringStringEntryProto.newBuilder().setKey("offset").setValue("0"))
                .addExternalData(Onnx.StringStringEntryProto.newBuilder().setKey("length").setValue(Integer.toString(4 * w.length))).build();
        Onnx.ModelProto m = Onnx.ModelProto.parseFrom(TestModels.reluAddOnnx());
        m = m.toBuilder().setGraph(m.getGraph().toBuilder().setInitializer(0, t)).build();
        Path f = Files.write(dir.resolve("model.onnx"), m.toByteArray());
        assertEquals(java.util.Set.of("weights.bin"), ModelFingerprint.externalLocations(java.lang.foreign.MemorySegment.ofArray(m.toByteArray())));
        PlanCache cache = new PlanCache(dir.resolve("plans"), PlanCache.DEFAULT_MAX_BYTES);
        Tensor x = TestModels.X;
        Tensor first;
        try (CompiledModel a = Kiln.compile(f, OPTS, cache)) {
            first = a.runReference(List.of(x)).getFirst();
            PlanCache.awaitWrites();
        }
        String before = PlanCache.key(f, OPTS, "sm_90");
        b.putFloat(0, 100); // the data file changes, the model file does not
        Files.write(data, b.array());
        assertNotEquals(before, PlanCache.key(f, OPTS, "sm_90"));
        try (CompiledModel c = Kiln.compile(f, OPTS, cache)) {
            assertFalse(c.report().planCacheHit());
            Tensor y = c.runReference(List.of(x)).getFirst();
            assertEquals(100.5, y.getDouble(0), 1e-6); // relu(0.5 + 100)
            assertNotEquals(first.getDouble(0), y.getDouble(0));
        }
        PlanCache.awaitWrites(); // before the folder goes
    }

    @Test void aCorruptEntryIsIgnoredWithAWarningAndReplaced(@TempDir Path dir) throws IOException {
        Path f = model(dir);
        PlanCache cache = new PlanCache(dir.resolve("plans"), PlanCache.DEFAULT_MAX_BYTES);
        List<Tensor> expected;
        try (CompiledModel a = Kiln.compile(f, OPTS, cache)) {
            expected = a.runReference(RandomInputs.of(a.graph(), Map.of(), 3));
            PlanCache.awaitWrites();
        }
        Path entry = entries(cache).getFirst();
        byte[] bytes = Files.readAllBytes(entry);
        for (int i = bytes.length / 4; i < bytes.length / 4 + 64; i++) bytes[i] ^= (byte) 0x5a; // damage inside the zip
        Files.write(entry, bytes);
        var err = new java.io.ByteArrayOutputStream();
        var old = System.err;
        System.setErr(new java.io.PrintStream(err, true));
        try (CompiledModel b = Kiln.compile(f, OPTS, cache)) {
            assertFalse(b.report().planCacheHit());
            List<Tensor> got = b.runReference(RandomInputs.of(b.graph(), Map.of(), 3));
            for (int i = 0; i < got.size(); i++) assertArrayEquals(expected.get(i).storage(), got.get(i).storage());
        } finally {
            System.setErr(old);
        }
        String warning = err.toString();
        assertTrue(warning.contains("ignoring unreadable plan cache entry") && warning.strip().lines().count() == 1, warning);
        PlanCache.awaitWrites();
        try (CompiledModel c = Kiln.compile(f, OPTS, cache)) {
            assertTrue(c.report().planCacheHit(), "the entry was written again");
        }
    }

    @Test void concurrentWritersLeaveOneWholeEntry(@TempDir Path dir) throws Exception {
        Path f = model(dir);
        PlanCache cache = new PlanCache(dir.resolve("plans"), PlanCache.DEFAULT_MAX_BYTES);
        String key = PlanCache.key(f, OPTS, "sm_90");
        CompiledModel m = Kiln.compile(f, OPTS.withPlanCache(false));
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> writers = new ArrayList<>();
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int i = 0; i < 4; i++) {
            Thread t = Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                    for (int k = 0; k < 3; k++) {
                        cache.put(key, m);
                        cache.get(key).orElseThrow().close(); // every read between writes sees a whole entry
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            });
            writers.add(t);
        }
        go.countDown();
        for (Thread t : writers) t.join();
        assertTrue(failures.isEmpty(), failures.toString());
        assertEquals(List.of(key + ".kiln"), entries(cache).stream().map(p -> p.getFileName().toString()).toList(), "no temp files left");
        try (CompiledModel hit = cache.get(key).orElseThrow()) {
            assertEquals(m.plan(), hit.plan());
        }
    }

    @Test void theFolderStaysUnderItsBoundDroppingTheLeastRecentlyUsed(@TempDir Path dir) throws IOException {
        CompiledModel m = Kiln.compile(TestModels.chain(1), OPTS);
        PlanCache probe = new PlanCache(dir.resolve("probe"), Long.MAX_VALUE);
        probe.put("probe", m);
        long size = Files.size(probe.dir().resolve("probe.kiln"));
        PlanCache cache = new PlanCache(dir.resolve("plans"), 2 * size + size / 2); // room for two
        cache.put("a", m);
        Files.setLastModifiedTime(cache.dir().resolve("a.kiln"), java.nio.file.attribute.FileTime.fromMillis(1_000_000));
        cache.put("b", m);
        Files.setLastModifiedTime(cache.dir().resolve("b.kiln"), java.nio.file.attribute.FileTime.fromMillis(2_000_000));
        cache.get("a").orElseThrow().close(); // a is used again: b is now the oldest
        cache.put("c", m);
        assertEquals(List.of("a.kiln", "c.kiln"), entries(cache).stream().map(p -> p.getFileName().toString()).toList());
    }
}
