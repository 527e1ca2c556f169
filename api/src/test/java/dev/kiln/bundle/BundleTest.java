package dev.kiln.bundle;

import dev.kiln.CompileOptions;
import dev.kiln.CompiledModel;
import dev.kiln.Kiln;
import dev.kiln.TestModels;
import dev.kiln.ir.text.IrParser;
import dev.kiln.ir.text.IrPrinter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.*;

/** Bundle write -> read round trips, and every kind of damage is a BundleException before anything runs. */
class BundleTest {
    static final CompileOptions OPTS = CompileOptions.defaults().withArch("sm_90");

    static Path save(CompiledModel m, Path dir) {
        Path f = dir.resolve("m.kiln");
        BundleWriter.write(m, f, BundleWriter.Binaries.NONE);
        return f;
    }

    @Test void roundTripGivesEqualPlanAndGraph(@TempDir Path dir) throws IOException {
        CompiledModel m = Kiln.compile(TestModels.chain(1), OPTS);
        Path f = save(m, dir);
        BundleReader.Bundle b = BundleReader.read(f);
        CompiledModel back = b.model();
        assertEquals(m.plan(), back.plan());
        assertEquals(m.graph(), back.graph());
        assertEquals(m.graph(), IrParser.parse(IrPrinter.print(back.graph(), IrPrinter.Options.SELF_CONTAINED)));
        assertEquals("sm_90", back.arch());
        assertEquals(1, b.formatVersion());
        assertEquals("none", b.binariesTool());
        assertEquals(m.runReference(List.of(TestModels.random(3, 64, 1024))), back.runReference(List.of(TestModels.random(3, 64, 1024))));
        try (var s = Files.list(dir)) { assertEquals(List.of(f), s.toList()); } // no temp file left behind
    }

    @Test void manifestRecordsWhatTheDocsPromise(@TempDir Path dir) {
        CompiledModel m = Kiln.compile(TestModels.reluAdd(), OPTS);
        Map<String, Object> man = BundleReader.read(save(m, dir)).manifest();
        assertEquals("kiln-bundle", man.get("format"));
        assertEquals(Kiln.VERSION, man.get("kilnVersion"));
        assertEquals("sm_90", man.get("targetArch"));
        assertEquals(1L, man.get("kernels"));
        assertNotNull(man.get("nvrtcVersion"));
        assertNotNull(man.get("created"));
        Map<?, ?> mem = (Map<?, ?>) man.get("memory");
        assertEquals(512L, mem.get("arenaBytes"));
        assertEquals(256L, mem.get("weightBytes"));
        List<?> in = (List<?>) man.get("inputs");
        assertEquals(Map.of("name", "x", "dtype", "f32", "shape", List.of(2L, 3L)), in.get(0));
        Map<?, ?> entries = (Map<?, ?>) man.get("entries");
        assertTrue(entries.keySet().containsAll(List.of("model.ir", "plan.json", "weights.bin", "kernels/000.cu")));
    }

    @Test void binariesFromNvccOrNvrtcWhenAvailable(@TempDir Path dir) {
        CompiledModel m = Kiln.compile(TestModels.reluAdd(), OPTS);
        Path f = dir.resolve("m.kiln");
        BundleWriter.write(m, f, BundleWriter.Binaries.AUTO);
        BundleReader.Bundle b = BundleReader.read(f);
        String tool = b.binariesTool();
        assertTrue(List.of("nvrtc", "nvcc", "none").contains(tool), tool);
        if (tool.equals("none")) {
            assertEquals(0, b.model().prebuilt().get(0).ptx().length);
        } else {
            String ptx = new String(b.model().prebuilt().get(0).ptx(), StandardCharsets.UTF_8);
            assertTrue(ptx.contains(".entry " + m.plan().kernels().get(0).entry()), ptx);
            assertTrue(b.model().prebuilt().get(0).cubin().length > 0);
        }
    }

    @Test void flippedByteIsRejected(@TempDir Path dir) throws IOException {
        Path f = save(Kiln.compile(TestModels.chain(2), OPTS), dir);
        byte[] b = Files.readAllBytes(f);
        // the weights (256 KiB of random floats) fill most of the file; flip bytes well inside them
        for (int at : new int[] {b.length / 3, b.length / 2}) {
            byte[] bad = b.clone();
            bad[at] ^= 0x10;
            Files.write(f, bad);
            BundleException e = assertThrows(BundleException.class, () -> BundleReader.read(f));
            assertTrue(e.getMessage().contains("damaged") || e.getMessage().contains("truncated"), e.getMessage());
        }
    }

    @Test void truncatedFileIsRejected(@TempDir Path dir) throws IOException {
        Path f = save(Kiln.compile(TestModels.reluAdd(), OPTS), dir);
        byte[] b = Files.readAllBytes(f);
        for (int len : new int[] {0, 10, b.length / 2, b.length - 1}) {
            Files.write(f, Arrays.copyOf(b, len));
            assertThrows(BundleException.class, () -> BundleReader.read(f), "truncated to " + len);
        }
    }

    @Test void wrongHashInManifestIsRejected(@TempDir Path dir) throws IOException {
        Path f = save(Kiln.compile(TestModels.reluAdd(), OPTS), dir);
        Map<String, byte[]> e = unzip(f);
        String man = new String(e.get("manifest.json"), StandardCharsets.UTF_8);
        String h = BundleWriter.sha256(e.get("weights.bin"));
        rewriteManifest(f, e, man.replace(h, h.replace(h.charAt(0), h.charAt(0) == 'a' ? 'b' : 'a')));
        // the quick check reads the weights' CRC-32, which still matches; the full one compares the SHA-256
        BundleReader.read(f).model().close();
        BundleException ex = assertThrows(BundleException.class, () -> BundleReader.read(f, BundleReader.Verify.FULL));
        assertTrue(ex.getMessage().contains("weights.bin is damaged (SHA-256 mismatch)"), ex.getMessage());
    }

    @Test void damagedWeightsNameTheFileTheEntryAndTheRemedy(@TempDir Path dir) throws IOException {
        Path f = save(Kiln.compile(TestModels.chain(2), OPTS), dir);
        Map<String, byte[]> e = unzip(f);
        byte[] w = e.get("weights.bin");
        for (BundleReader.Verify v : BundleReader.Verify.values()) {
            // the bytes in the file change, the zip directory's CRC-32 and the manifest stay as written
            byte[] b = Files.readAllBytes(f);
            int at = indexOf(b, w) + w.length / 2;
            b[at] ^= 0x01;
            Path bad = dir.resolve("bad-" + v + ".kiln");
            Files.write(bad, b);
            BundleException ex = assertThrows(BundleException.class, () -> BundleReader.read(bad, v));
            assertTrue(ex.getMessage().contains(bad.toString()) && ex.getMessage().contains("weights.bin is damaged")
                    && ex.getMessage().contains("kiln compile"), v + ": " + ex.getMessage());
        }
    }

    @Test void irIsCheckedBeforeItsParseIsUsed(@TempDir Path dir) throws IOException {
        // model.ir is parsed while the rest is read: a changed IR still fails its hash at once, and a bad IR whose hash
        // was updated fails as an inconsistent bundle when the IR is first used (at once under Verify.FULL), both as
        // BundleExceptions
        Path f = save(Kiln.compile(TestModels.reluAdd(), OPTS), dir);
        Map<String, byte[]> e = unzip(f);
        String man = new String(e.get("manifest.json"), StandardCharsets.UTF_8);
        String oldHash = BundleWriter.sha256(e.get("model.ir"));
        byte[] garbage = "graph @broken(".getBytes(StandardCharsets.UTF_8);
        e.put("model.ir", garbage);
        zip(f, e);
        BundleException damaged = assertThrows(BundleException.class, () -> BundleReader.read(f));
        assertTrue(damaged.getMessage().contains("model.ir is damaged"), damaged.getMessage());
        rewriteManifest(f, e, man.replace(oldHash, BundleWriter.sha256(garbage)));
        try (CompiledModel m = BundleReader.read(f).model()) {
            assertEquals(List.of("x"), m.inputs().stream().map(dev.kiln.ir.Value::name).toList(), "the plan's side is whole");
            BundleException bad = assertThrows(BundleException.class, m::graph);
            assertTrue(bad.getMessage().contains("inconsistent"), bad.getMessage());
        }
        BundleException full = assertThrows(BundleException.class, () -> BundleReader.read(f, BundleReader.Verify.FULL));
        assertTrue(full.getMessage().contains("inconsistent"), full.getMessage());
    }

    /** Where {@code part} first appears in {@code all} (a stored zip entry's bytes appear verbatim in the file). */
    private static int indexOf(byte[] all, byte[] part) {
        outer:
        for (int i = 0; i + part.length <= all.length; i++) {
            for (int j = 0; j < Math.min(part.length, 64); j++) if (all[i + j] != part[j]) continue outer;
            return i;
        }
        throw new AssertionError("entry bytes not found in the file");
    }

    @Test void manifestNotMatchingItsHashIsRejected(@TempDir Path dir) throws IOException {
        Path f = save(Kiln.compile(TestModels.reluAdd(), OPTS), dir);
        Map<String, byte[]> e = unzip(f);
        e.put("manifest.json", new String(e.get("manifest.json"), StandardCharsets.UTF_8).replace("\"kernels\": 1", "\"kernels\": 3")
                .getBytes(StandardCharsets.UTF_8));
        zip(f, e);
        BundleException ex = assertThrows(BundleException.class, () -> BundleReader.read(f));
        assertTrue(ex.getMessage().contains("manifest.json does not match"), ex.getMessage());
    }

    @Test void otherFormatVersionIsRejected(@TempDir Path dir) throws IOException {
        Path f = save(Kiln.compile(TestModels.reluAdd(), OPTS), dir);
        Map<String, byte[]> e = unzip(f);
        String man = new String(e.get("manifest.json"), StandardCharsets.UTF_8);
        rewriteManifest(f, e, man.replace("\"formatVersion\": 1", "\"formatVersion\": 2"));
        BundleException ex = assertThrows(BundleException.class, () -> BundleReader.read(f));
        assertTrue(ex.getMessage().contains("format version 2"), ex.getMessage());
    }

    @Test void foreignFilesAreRejected(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("x.kiln");
        Files.writeString(f, "ir_version: 8, this is not a zip");
        assertThrows(BundleException.class, () -> BundleReader.read(f));
        zip(f, Map.of("hello.txt", "hi".getBytes(StandardCharsets.UTF_8)));
        BundleException ex = assertThrows(BundleException.class, () -> BundleReader.read(f));
        assertTrue(ex.getMessage().contains("no manifest.json"), ex.getMessage());
        assertThrows(BundleException.class, () -> Kiln.load(dir.resolve("missing.kiln")));
    }

    @Test void unlistedEntryIsRejected(@TempDir Path dir) throws IOException {
        Path f = save(Kiln.compile(TestModels.reluAdd(), OPTS), dir);
        Map<String, byte[]> e = unzip(f);
        e.put("kernels/002.cu", "extern \"C\" __global__ void evil() {}".getBytes(StandardCharsets.UTF_8));
        zip(f, e);
        BundleException ex = assertThrows(BundleException.class, () -> BundleReader.read(f));
        assertTrue(ex.getMessage().contains("not in the manifest"), ex.getMessage());
    }

    private static void rewriteManifest(Path f, Map<String, byte[]> e, String manifest) throws IOException {
        byte[] m = manifest.getBytes(StandardCharsets.UTF_8);
        e.put("manifest.json", m);
        e.put("manifest.sha256", (BundleWriter.sha256(m) + "\n").getBytes(StandardCharsets.UTF_8));
        zip(f, e);
    }

    static Map<String, byte[]> unzip(Path f) throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        try (var z = new java.util.zip.ZipFile(f.toFile())) {
            for (ZipEntry e : z.stream().toList()) out.put(e.getName(), z.getInputStream(e).readAllBytes());
        }
        return out;
    }

    static void zip(Path f, Map<String, byte[]> entries) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bytes)) {
            for (var e : entries.entrySet()) {
                z.putNextEntry(new ZipEntry(e.getKey()));
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        Files.write(f, bytes.toByteArray());
    }
}
