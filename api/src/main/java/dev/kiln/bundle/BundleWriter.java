package dev.kiln.bundle;

import dev.kiln.CompiledModel;
import dev.kiln.Kiln;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.Value;
import dev.kiln.ir.text.IrPrinter;
import dev.kiln.runtime.plan.ExecutionPlan;
import dev.kiln.runtime.plan.KernelBinary;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static dev.kiln.bundle.PlanJson.obj;

/**
 * Writes a {@link CompiledModel} as one bundle file (a zip; docs/bundle.md): manifest with the SHA-256 of
 * every entry, final IR text, plan JSON, weights, each kernel's CUDA source and, when a compiler is at hand,
 * its PTX and CUBIN. Atomic: the zip is written to a temp file beside the target and renamed over it.
 */
public final class BundleWriter {
    public static final String FORMAT = "kiln-bundle";
    public static final int FORMAT_VERSION = 1;

    /** Where PTX/CUBIN come from: AUTO (NVRTC with a GPU, else nvcc, else none), NVCC only, or NONE. */
    public enum Binaries { AUTO, NVCC, NONE }

    private BundleWriter() {}

    public static void write(CompiledModel model, Path file, Binaries binaries) {
        Map<String, byte[]> entries = entries(model, binaries);
        Path target = file.toAbsolutePath();
        Path tmp = null;
        try {
            Files.createDirectories(target.getParent());
            tmp = Files.createTempFile(target.getParent(), "." + target.getFileName(), ".tmp");
            try (OutputStream os = Files.newOutputStream(tmp); ZipOutputStream zip = new ZipOutputStream(os)) {
                for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                    ZipEntry z = new ZipEntry(e.getKey());
                    z.setTime(0); // reproducible bytes; the creation time is in the manifest
                    if (stored(e.getKey())) {
                        // weights barely compress, and inflating a gigabyte would cost seconds of every load
                        CRC32 crc = new CRC32();
                        crc.update(e.getValue());
                        z.setMethod(ZipEntry.STORED);
                        z.setSize(e.getValue().length);
                        z.setCompressedSize(e.getValue().length);
                        z.setCrc(crc.getValue());
                    }
                    zip.putNextEntry(z);
                    zip.write(e.getValue());
                    zip.closeEntry();
                }
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new BundleException("cannot write bundle " + file + ": " + e.getMessage(), e);
        } finally {
            if (tmp != null) try { Files.deleteIfExists(tmp); } catch (IOException ignored) { /* best effort */ }
        }
    }

    /** Entries written uncompressed: the weights and the tensors the IR references. */
    static boolean stored(String entry) { return entry.equals("weights.bin") || entry.startsWith("resources/"); }

    /** Every entry in write order, the manifest last. */
    static Map<String, byte[]> entries(CompiledModel model, Binaries binaries) {
        ExecutionPlan plan = model.plan();
        Map<String, byte[]> e = new LinkedHashMap<>();
        IrPrinter.Printed ir = IrPrinter.render(model.graph(), IrPrinter.Options.DEFAULT);
        e.put("model.ir", utf8(ir.text()));
        byte[] weights = plan.weights(); // one copy, for the entry and for finding the IR's tensors in it
        e.put("ir-resources.json", utf8(Json.write(resources(ir.resources(), plan, weights, e))));
        e.put("plan.json", utf8(Json.write(PlanJson.write(plan))));
        e.put("weights.bin", weights);
        KernelBinaries.Built built = KernelBinaries.build(plan.kernels(), model.arch(), binaries);
        for (int i = 0; i < plan.kernels().size(); i++) {
            e.put(PlanJson.kernelEntry(i, "cu"), utf8(plan.kernels().get(i).source()));
            KernelBinary b = built.binaries().get(i);
            if (b.ptx().length > 0) e.put(PlanJson.kernelEntry(i, "ptx"), b.ptx());
            if (b.cubin().length > 0) e.put(PlanJson.kernelEntry(i, "cubin"), b.cubin());
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format", FORMAT);
        m.put("formatVersion", (long) FORMAT_VERSION);
        m.put("kilnVersion", Kiln.VERSION);
        m.put("created", Instant.now().toString());
        m.put("model", model.name());
        m.put("targetArch", model.arch());
        m.put("nvrtcVersion", built.tool().equals("nvrtc") ? built.version() : KernelBinaries.nvrtcVersion());
        m.put("binaries", obj("tool", built.tool(), "version", built.version(),
                "note", switch (built.tool()) {
                    case "none" -> "no GPU and no nvcc when saved: kernels compile from source with NVRTC on load";
                    default -> "CUBIN for " + model.arch() + " loads without compiling; PTX is JIT-compiled on other GPUs";
                }));
        m.put("precision", model.report().precision().text());
        m.put("inputs", io(model.graph().inputs().castToList()));
        m.put("outputs", io(model.graph().outputs().castToList()));
        m.put("memory", obj("arenaBytes", plan.arenaBytes(), "weightBytes", plan.weightBytes(),
                "summary", model.report().memorySummary()));
        m.put("kernels", (long) plan.kernels().size());
        Map<String, Object> hashes = new LinkedHashMap<>();
        for (Map.Entry<String, byte[]> x : e.entrySet()) hashes.put(x.getKey(), sha256(x.getValue()));
        m.put("entries", hashes);
        byte[] manifest = utf8(Json.write(m));
        e.put(BundleReader.MANIFEST, manifest);
        e.put(BundleReader.MANIFEST_HASH, utf8(sha256(manifest) + "\n"));
        return e;
    }

    /** Tensors the IR text references by name: from the weights block where they are weights, else own entries. */
    private static List<Object> resources(Map<String, Tensor> resources, ExecutionPlan plan, byte[] weights, Map<String, byte[]> e) {
        List<Object> out = new ArrayList<>();
        int n = 0;
        for (String name : resources.keySet().stream().sorted().toList()) {
            Tensor t = resources.get(name);
            byte[] data = t.storage();
            List<Object> shape = new ArrayList<>();
            for (long d : t.shape()) shape.add(d);
            Map<String, Object> r = obj("name", name, "dtype", t.dtype().textName(), "shape", shape);
            ExecutionPlan.Slot slot = plan.weightSlots().stream().filter(s -> s.label().equals(name)).findFirst().orElse(null);
            if (slot != null && slot.bytes() == data.length
                    && Arrays.equals(weights, (int) slot.offset(), (int) (slot.offset() + data.length), data, 0, data.length)) {
                r.put("weightsOffset", slot.offset());
            } else {
                String entry = String.format("resources/%04d.bin", n++);
                e.put(entry, data);
                r.put("entry", entry);
            }
            out.add(r);
        }
        return out;
    }

    private static List<Object> io(List<Value> values) {
        List<Object> l = new ArrayList<>();
        for (Value v : values) {
            List<Object> shape = new ArrayList<>();
            for (long d : v.shape().sizes()) shape.add(d);
            l.add(obj("name", v.name(), "dtype", v.dtype().textName(), "shape", shape));
        }
        return l;
    }

    static byte[] utf8(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    /** Hex SHA-256 of a segment (a mapped entry), read where it lies. */
    static String sha256(java.lang.foreign.MemorySegment b) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            d.update(b.asByteBuffer());
            return HexFormat.of().formatHex(d.digest());
        } catch (NoSuchAlgorithmException ex) {
            throw new IllegalStateException(ex);
        }
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException ex) {
            throw new IllegalStateException(ex);
        }
    }
}
