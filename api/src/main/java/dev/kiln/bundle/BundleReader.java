package dev.kiln.bundle;

import dev.kiln.runtime.Background;
import dev.kiln.CompileOptions;
import dev.kiln.CompileReport;
import dev.kiln.CompiledModel;
import dev.kiln.Kiln;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.KilnException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.Value;
import dev.kiln.ir.Verifier;
import dev.kiln.ir.text.IrParser;
import dev.kiln.runtime.plan.ExecutionPlan;
import dev.kiln.runtime.plan.KernelBinary;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.zip.CRC32;

import static dev.kiln.bundle.PlanJson.list;
import static dev.kiln.bundle.PlanJson.map;
import static dev.kiln.bundle.PlanJson.num;
import static dev.kiln.bundle.PlanJson.str;

/**
 * Reads a bundle and checks all of it before returning anything: the zip must be whole, the manifest's own
 * hash must match, the format must be {@value BundleWriter#FORMAT} version {@value BundleWriter#FORMAT_VERSION},
 * every entry must be listed and nothing else may be present, every entry's bytes must match (see {@link Verify}),
 * and the IR, plan and weights must agree. Any failure is a {@link BundleException}; a bundle is never half loaded.
 */
public final class BundleReader {
    static final String MANIFEST = "manifest.json";
    static final String MANIFEST_HASH = "manifest.sha256";

    private BundleReader() {}

    /**
     * How entries are checked. {@code QUICK} (the default): the SHA-256 of every entry but the weights (IR, plan,
     * kernels: a few MB), and the weights by their zip CRC-32, which catches bit flips and truncation at memory
     * speed (hashing BERT-base's weights took 1.6 s of a 1.9 s load). {@code FULL}: the SHA-256 of every entry
     * (kiln run --verify), e.g. to check a copy against the manifest exactly.
     */
    public enum Verify { QUICK, FULL }

    /** A verified bundle: its manifest and the model it holds (not yet on a GPU). */
    public record Bundle(Map<String, Object> manifest, CompiledModel model) {
        public long formatVersion() { return num(manifest, "formatVersion"); }
        /** {@code nvrtc}, {@code nvcc} or {@code none}: what made the PTX/CUBIN entries. */
        public String binariesTool() { return str(map(manifest.get("binaries")), "tool"); }
    }

    public static Bundle read(Path file) { return read(file, Verify.QUICK); }

    public static Bundle read(Path file, Verify verify) {
        if (!java.nio.file.Files.isRegularFile(file))
            throw new BundleException("bundle " + file + " does not exist (make one with `kiln compile MODEL -o " + file + "`)");
        Map<String, MappedZip.Entry> entries;
        try {
            entries = MappedZip.read(file);
        } catch (IOException | RuntimeException e) {
            throw new BundleException("bundle " + file + " is damaged or truncated, or not a bundle: " + e.getMessage(), e);
        }
        for (String name : entries.keySet()) if (name.endsWith("/")) throw fail(file, "unexpected folder entry " + name);
        // --verify builds the IR (text parse, graph) on another thread while this one checks the entries and reads the
        // plan (it is used only once every entry passed the checks below); otherwise it is built when first asked for
        // (reference interpreter, profiler): a GPU run needs only the plan, and the IR's parse (ANTLR's tables in a
        // fresh JVM) and its tensors' copy out of the mapping (BERT-base: 208 MB onto the heap) would only compete
        // with the load and the upload for CPU, memory bandwidth and the collector
        CompletableFuture<Graph> ir = verify == Verify.FULL ? Background.start("kiln-bundle-ir", () -> graph(file, entries)) : null;
        // the weights' CRC-32 (or SHA-256) runs on a third: it reads every page of the mapping
        CompletableFuture<Void> weights = Background.start("kiln-bundle-crc", () -> {
            verifyStored(file, entries, verify);
            return null;
        });
        try {
            byte[] manifestBytes = bytes(file, entries, MANIFEST, false);
            if (manifestBytes == null) throw fail(file, "not a Kiln bundle: it has no " + MANIFEST);
            byte[] hash = bytes(file, entries, MANIFEST_HASH, false);
            if (hash == null || !text(file, MANIFEST_HASH, hash).trim().equals(BundleWriter.sha256(manifestBytes)))
                throw fail(file, "damaged: " + MANIFEST + " does not match " + MANIFEST_HASH);
            Map<String, Object> manifest;
            try {
                manifest = map(Json.parse(text(file, MANIFEST, manifestBytes)));
            } catch (IllegalArgumentException e) {
                throw fail(file, "damaged manifest: " + e.getMessage());
            }
            if (!BundleWriter.FORMAT.equals(manifest.get("format")))
                throw fail(file, "not a Kiln bundle: format is " + manifest.get("format"));
            if (!(manifest.get("formatVersion") instanceof Long v) || v != BundleWriter.FORMAT_VERSION)
                throw fail(file, "bundle format version " + manifest.get("formatVersion") + " (written by Kiln "
                        + manifest.get("kilnVersion") + "); this Kiln " + Kiln.VERSION + " reads version " + BundleWriter.FORMAT_VERSION);
            Map<String, byte[]> small = verifyEntries(file, manifest, entries, verify);
            Background.join(weights);
            try {
                return new Bundle(manifest, model(file, manifest, entries, small, ir, verify));
            } catch (BundleException e) {
                throw e;
            } catch (KilnException | IllegalArgumentException | IllegalStateException | ArithmeticException | ClassCastException
                     | IndexOutOfBoundsException | NullPointerException e) {
                throw new BundleException("bundle " + file + " is inconsistent: " + e.getMessage(), e);
            }
        } catch (RuntimeException | Error e) {
            // the other threads may still read the mapped weights: let them end before the caller may touch the file
            try {
                (ir == null ? weights : CompletableFuture.allOf(ir, weights)).exceptionally(x -> null).join();
            } catch (RuntimeException ignored) { /* their own failures do not matter now */ }
            throw e;
        }
    }

    /** The bytes of a small entry (inflated), or null when there is none; {@code need}: throw then. */
    private static byte[] bytes(Path file, Map<String, MappedZip.Entry> entries, String name, boolean need) {
        MappedZip.Entry e = entries.get(name);
        if (e == null) {
            if (need) throw fail(file, "entry " + name + " is missing");
            return null;
        }
        try {
            return e.bytes();
        } catch (IOException x) {
            throw fail(file, x.getMessage() + REMEDY);
        }
    }

    /**
     * The weights and other stored tensors: by the zip's CRC-32 (QUICK), which catches bit flips and truncation at
     * memory speed, or by SHA-256 (FULL). The manifest lists them; verifyEntries checks that they are all there.
     */
    private static void verifyStored(Path file, Map<String, MappedZip.Entry> entries, Verify verify) {
        for (MappedZip.Entry e : entries.values()) {
            if (!BundleWriter.stored(e.name())) continue;
            if (verify == Verify.QUICK) {
                if (!e.stored()) continue; // a compressed one is hashed with the others
                CRC32 crc = new CRC32();
                crc.update(e.data().asByteBuffer());
                if (crc.getValue() != e.crc()) throw fail(file, "entry " + e.name() + " is damaged (CRC-32 mismatch)" + REMEDY);
            }
        }
    }

    /**
     * Checks every listed entry (see {@link Verify}) and that nothing unlisted is present; returns the small
     * entries' bytes (everything but the stored tensors), inflated once here.
     */
    private static Map<String, byte[]> verifyEntries(Path file, Map<String, Object> manifest, Map<String, MappedZip.Entry> entries,
                                                     Verify verify) {
        Map<String, Object> listed = map(manifest.get("entries"));
        Map<String, byte[]> small = new HashMap<>();
        for (Map.Entry<String, Object> e : listed.entrySet()) {
            MappedZip.Entry z = entries.get(e.getKey());
            if (z == null) throw fail(file, "entry " + e.getKey() + " is missing (truncated?)" + REMEDY);
            if (verify == Verify.QUICK && BundleWriter.stored(e.getKey())) {
                if (z.stored()) continue; // CRC-32, on its own thread
                CRC32 crc = new CRC32(); // compressed by some other zip tool: its inflated bytes
                crc.update(bytes(file, entries, e.getKey(), true));
                if (crc.getValue() != z.crc()) throw fail(file, "entry " + e.getKey() + " is damaged (CRC-32 mismatch)" + REMEDY);
                continue;
            }
            String sha;
            if (z.stored() && BundleWriter.stored(e.getKey())) {
                sha = BundleWriter.sha256(z.data()); // FULL: the weights hashed where they lie
            } else {
                byte[] b = bytes(file, entries, e.getKey(), true);
                small.put(e.getKey(), b);
                sha = BundleWriter.sha256(b);
            }
            if (!sha.equals(e.getValue())) throw fail(file, "entry " + e.getKey() + " is damaged (SHA-256 mismatch)" + REMEDY);
        }
        for (String name : entries.keySet())
            if (!listed.containsKey(name) && !name.equals(MANIFEST) && !name.equals(MANIFEST_HASH))
                throw fail(file, "entry " + name + " is not in the manifest");
        return small;
    }

    /** What to do about a damaged bundle. */
    static final String REMEDY = "; the file changed after it was written: copy it again, or make it again with `kiln compile MODEL -o BUNDLE`";

    private static CompiledModel model(Path file, Map<String, Object> manifest, Map<String, MappedZip.Entry> entries,
                                       Map<String, byte[]> small, CompletableFuture<Graph> ir, Verify verify) {
        MemorySegment weights = weights(file, entries);
        ExecutionPlan plan = PlanJson.read(map(Json.parse(text(file, "plan.json", need(file, small, "plan.json")))), weights,
                name -> text(file, name, need(file, small, name)));
        need(file, small, "model.ir");
        List<Value> inputs = io(list(manifest, "inputs")), outputs = io(list(manifest, "outputs"));
        checkIo(file, "input", inputs, plan.inputs(), list(manifest, "inputs"));
        checkIo(file, "output", outputs, plan.outputs(), list(manifest, "outputs"));
        // The IR serves the reference interpreter and the profiler, not the GPU run: it is built when first used (under
        // --verify, on its own thread from the start). Its SHA-256 matched and the writer verified it, so it is re-verified
        // (every type re-inferred) only under --verify, which also waits for it here so that everything is checked before returning.
        java.util.function.Supplier<Graph> graph = () -> {
            try {
                Graph g = ir != null ? Background.join(ir) : graph(file, entries);
                if (verify == Verify.FULL) g = Verifier.verify(g);
                checkIo(file, "input", g.inputs().castToList(), plan.inputs(), list(manifest, "inputs"));
                checkIo(file, "output", g.outputs().castToList(), plan.outputs(), list(manifest, "outputs"));
                if (!g.inputs().castToList().equals(inputs) || !g.outputs().castToList().equals(outputs))
                    throw fail(file, "inconsistent: the IR's inputs or outputs differ from the manifest's");
                return g;
            } catch (BundleException e) {
                throw e;
            } catch (KilnException | IllegalArgumentException | IllegalStateException | ArithmeticException | ClassCastException
                     | IndexOutOfBoundsException | NullPointerException e) {
                throw new BundleException("bundle " + file + " is inconsistent: " + e.getMessage(), e);
            }
        };
        if (verify == Verify.FULL) {
            Graph g = graph.get();
            graph = () -> g;
        }
        String arch = str(manifest, "targetArch");
        List<KernelBinary> binaries = new ArrayList<>();
        for (int i = 0; i < plan.kernels().size(); i++)
            binaries.add(new KernelBinary(arch, small.get(PlanJson.kernelEntry(i, "cubin")), small.get(PlanJson.kernelEntry(i, "ptx"))));
        Map<String, Object> memory = map(manifest.get("memory"));
        CompileOptions.Precision precision = CompileOptions.Precision.parse(str(manifest, "precision"));
        CompileReport report = new CompileReport(str(manifest, "model"), List.of(), plan.launches().size(), plan.kernels().size(), plan.arenaBytes(),
                plan.weightBytes(), str(memory, "summary"), precision, "", arch, 0, dev.kiln.Timings.compile(0, 0, 0));
        return new CompiledModel(str(manifest, "model"), inputs, outputs, graph, plan, report, arch, binaries);
    }

    /** The inputs or outputs the manifest lists, as IR values. */
    private static List<Value> io(List<Object> listed) {
        List<Value> out = new ArrayList<>();
        for (Object o : listed) {
            Map<String, Object> m = map(o);
            long[] shape = list(m, "shape").stream().mapToLong(x -> (Long) x).toArray();
            out.add(new Value(str(m, "name"), dev.kiln.ir.TensorType.of(DType.fromText(str(m, "dtype")), shape)));
        }
        return out;
    }

    /** The weights entry: the mapped file's own bytes where it is stored (no copy), else inflated. */
    private static MemorySegment weights(Path file, Map<String, MappedZip.Entry> entries) {
        MappedZip.Entry w = entries.get("weights.bin");
        if (w == null) throw fail(file, "entry weights.bin is missing");
        try {
            return w.segment();
        } catch (IOException e) {
            throw fail(file, e.getMessage() + REMEDY);
        }
    }

    /**
     * The final IR: model.ir parsed, and its tensors copied from the weights block or their
     * own entries (the IR's constants are plain arrays). Unchecked here: read() uses it only after the checks.
     */
    private static Graph graph(Path file, Map<String, MappedZip.Entry> entries) {
        IrParser.Syntax syntax = IrParser.syntax(text(file, "model.ir", bytes(file, entries, "model.ir", true)));
        MemorySegment weights = weights(file, entries);
        Map<String, Tensor> resources = new HashMap<>();
        for (Object o : (List<?>) Json.parse(text(file, "ir-resources.json", bytes(file, entries, "ir-resources.json", true)))) {
            Map<String, Object> r = map(o);
            long[] shape = list(r, "shape").stream().mapToLong(x -> (Long) x).toArray();
            DType dtype = DType.fromText(str(r, "dtype"));
            byte[] data;
            if (r.containsKey("weightsOffset")) {
                long off = num(r, "weightsOffset");
                long bytes = Tensor.numel(shape) * dtype.storageBytes();
                data = weights.asSlice(off, bytes).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            } else {
                data = bytes(file, entries, str(r, "entry"), true);
            }
            resources.put(str(r, "name"), Tensor.adopt(dtype, shape, data)); // data is this read's own copy
        }
        return syntax.graph(resources::get);
    }

    private static void checkIo(Path file, String what, List<Value> values, List<ExecutionPlan.Slot> slots, List<Object> listed) {
        if (values.size() != slots.size() || values.size() != listed.size())
            throw fail(file, "inconsistent: " + what + " counts differ between IR, plan and manifest");
        for (int i = 0; i < values.size(); i++) {
            Value v = values.get(i);
            Map<String, Object> m = map(listed.get(i));
            if (!v.name().equals(slots.get(i).label()) || !v.name().equals(m.get("name")) || !v.dtype().textName().equals(m.get("dtype")))
                throw fail(file, "inconsistent: " + what + " " + i + " is %" + v.name() + " in the IR but differs in the plan or manifest");
        }
    }

    private static byte[] need(Path file, Map<String, byte[]> entries, String name) {
        byte[] b = entries.get(name);
        if (b == null) throw fail(file, "entry " + name + " is missing");
        return b;
    }

    private static String text(Path file, String name, byte[] b) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw fail(file, "entry " + name + " is not UTF-8 text");
        }
    }

    private static BundleException fail(Path file, String why) { return new BundleException("bundle " + file + ": " + why); }
}
