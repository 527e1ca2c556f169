package dev.kiln.bundle;

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
import java.io.InputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

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
        Map<String, Long> crcs = new HashMap<>();
        // model.ir (the zip's first entry) is parsed on another thread while the rest, the weights above all, is read
        // and checked; the parse is used only once its entry passed the checks below
        CompletableFuture<IrParser.Syntax> ir = new CompletableFuture<>();
        Map<String, byte[]> entries = unzip(file, crcs, ir);
        if (!entries.containsKey("model.ir")) ir.completeExceptionally(fail(file, "entry model.ir is missing"));
        byte[] manifestBytes = entries.get(MANIFEST);
        if (manifestBytes == null) throw fail(file, "not a Kiln bundle: it has no " + MANIFEST);
        byte[] hash = entries.get(MANIFEST_HASH);
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
        verifyEntries(file, manifest, entries, crcs, verify);
        try {
            return new Bundle(manifest, model(file, manifest, entries, ir));
        } catch (BundleException e) {
            throw e;
        } catch (KilnException | IllegalArgumentException | IllegalStateException | ArithmeticException | ClassCastException
                 | IndexOutOfBoundsException | NullPointerException e) {
            throw new BundleException("bundle " + file + " is inconsistent: " + e.getMessage(), e);
        }
    }

    /** Every entry's bytes, and into {@code crcs} the CRC-32 the zip's directory records for it. */
    private static Map<String, byte[]> unzip(Path file, Map<String, Long> crcs, CompletableFuture<IrParser.Syntax> ir) {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (ZipFile zip = new ZipFile(file.toFile())) {
            for (ZipEntry z : zip.stream().toList()) {
                if (z.isDirectory()) throw fail(file, "unexpected folder entry " + z.getName());
                try (InputStream in = zip.getInputStream(z)) {
                    if (entries.put(z.getName(), in.readAllBytes()) != null) throw fail(file, "entry " + z.getName() + " appears twice");
                    crcs.put(z.getName(), z.getCrc());
                    if (z.getName().equals("model.ir")) {
                        byte[] b = entries.get("model.ir");
                        CompletableFuture.runAsync(() -> {
                            try {
                                ir.complete(IrParser.syntax(text(file, "model.ir", b)));
                            } catch (Throwable t) {
                                ir.completeExceptionally(t);
                            }
                        });
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof BundleException b) throw b;
            throw new BundleException("bundle " + file + " is damaged or truncated, or not a bundle: " + e.getMessage(), e);
        }
        return entries;
    }

    private static void verifyEntries(Path file, Map<String, Object> manifest, Map<String, byte[]> entries, Map<String, Long> crcs,
                                      Verify verify) {
        Map<String, Object> listed = map(manifest.get("entries"));
        for (Map.Entry<String, Object> e : listed.entrySet()) {
            byte[] b = entries.get(e.getKey());
            if (b == null) throw fail(file, "entry " + e.getKey() + " is missing (truncated?)" + REMEDY);
            if (verify == Verify.QUICK && BundleWriter.stored(e.getKey())) {
                CRC32 crc = new CRC32();
                crc.update(b);
                if (crc.getValue() != crcs.getOrDefault(e.getKey(), -1L))
                    throw fail(file, "entry " + e.getKey() + " is damaged (CRC-32 mismatch)" + REMEDY);
            } else if (!BundleWriter.sha256(b).equals(e.getValue())) {
                throw fail(file, "entry " + e.getKey() + " is damaged (SHA-256 mismatch)" + REMEDY);
            }
        }
        for (String name : entries.keySet())
            if (!listed.containsKey(name) && !name.equals(MANIFEST) && !name.equals(MANIFEST_HASH))
                throw fail(file, "entry " + name + " is not in the manifest");
    }

    /** What to do about a damaged bundle. */
    static final String REMEDY = "; the file changed after it was written: copy it again, or make it again with `kiln compile MODEL -o BUNDLE`";

    private static CompiledModel model(Path file, Map<String, Object> manifest, Map<String, byte[]> entries,
                                       CompletableFuture<IrParser.Syntax> ir) {
        byte[] weights = need(file, entries, "weights.bin");
        ExecutionPlan plan = PlanJson.read(map(Json.parse(text(file, "plan.json", need(file, entries, "plan.json")))), weights,
                name -> text(file, name, need(file, entries, name)));
        Map<String, Tensor> resources = new HashMap<>();
        for (Object o : (List<?>) Json.parse(text(file, "ir-resources.json", need(file, entries, "ir-resources.json")))) {
            Map<String, Object> r = map(o);
            long[] shape = list(r, "shape").stream().mapToLong(x -> (Long) x).toArray();
            DType dtype = DType.fromText(str(r, "dtype"));
            byte[] data;
            if (r.containsKey("weightsOffset")) {
                long off = num(r, "weightsOffset");
                long bytes = Tensor.numel(shape) * dtype.storageBytes();
                data = Arrays.copyOfRange(weights, Math.toIntExact(off), Math.toIntExact(off + bytes));
            } else {
                data = need(file, entries, str(r, "entry"));
            }
            resources.put(str(r, "name"), Tensor.adopt(dtype, shape, data)); // data is this read's own copy
        }
        need(file, entries, "model.ir");
        IrParser.Syntax syntax;
        try {
            syntax = ir.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r; // a parse error: "inconsistent", as before
            throw e;
        }
        Graph graph = Verifier.verify(syntax.graph(resources::get));
        checkIo(file, "input", graph.inputs().castToList(), plan.inputs(), list(manifest, "inputs"));
        checkIo(file, "output", graph.outputs().castToList(), plan.outputs(), list(manifest, "outputs"));
        String arch = str(manifest, "targetArch");
        List<KernelBinary> binaries = new ArrayList<>();
        for (int i = 0; i < plan.kernels().size(); i++)
            binaries.add(new KernelBinary(arch, entries.get(PlanJson.kernelEntry(i, "cubin")), entries.get(PlanJson.kernelEntry(i, "ptx"))));
        Map<String, Object> memory = map(manifest.get("memory"));
        CompileOptions.Precision precision = CompileOptions.Precision.parse(str(manifest, "precision"));
        CompileReport report = new CompileReport(graph.name(), List.of(), plan.launches().size(), plan.kernels().size(), plan.arenaBytes(),
                plan.weightBytes(), str(memory, "summary"), precision, "", arch, 0, dev.kiln.Timings.compile(0, 0, 0));
        return new CompiledModel(graph, plan, report, arch, binaries);
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
