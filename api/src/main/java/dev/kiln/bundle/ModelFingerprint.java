package dev.kiln.bundle;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import dev.kiln.frontend.ExternalData;
import dev.kiln.ir.InvalidModelException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.IntStream;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;

/**
 * What the plan cache keys an ONNX model by: the bytes of the model file and of every external data file it names,
 * hashed fast. Each file is memory-mapped and cut into 32 MB chunks; each chunk's CRC-32C and CRC-32 (both run at
 * memory speed on the CPU's own instructions) are taken in parallel, and the list of them is what goes into the
 * key (a SHA-256 over it and the rest, in {@link PlanCache}). 64 bits per chunk make an accidental collision as
 * unlikely as anything else going wrong; this is a cache key, not a defence against someone forging a model.
 */
final class ModelFingerprint {
    private static final long CHUNK = 32L << 20;

    private ModelFingerprint() {}

    /** One line per file: its name relative to the model's folder, its size and its chunk checksums. */
    static List<String> of(Path model) throws IOException {
        List<String> lines = new ArrayList<>();
        MemorySegment bytes = map(model);
        lines.add("model " + bytes.byteSize() + " " + checksums(bytes));
        Path dir = model.toAbsolutePath().getParent();
        for (String location : externalLocations(bytes)) {
            Path f = external(dir, location);
            if (f == null) {
                lines.add("external " + location + " absent"); // the import rejects it; the key still differs from a present one
                continue;
            }
            MemorySegment data = map(f);
            lines.add("external " + location + " " + data.byteSize() + " " + checksums(data));
        }
        return lines;
    }

    private static MemorySegment map(Path f) throws IOException {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            return ch.size() == 0 ? MemorySegment.ofArray(new byte[0]) : ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), Arena.ofAuto());
        }
    }

    /** The CRC-32C and CRC-32 of every chunk, in hex, computed in parallel. */
    static String checksums(MemorySegment s) {
        int chunks = (int) Math.max(1, (s.byteSize() + CHUNK - 1) / CHUNK);
        long[] sums = new long[chunks];
        IntStream.range(0, chunks).parallel().forEach(i -> {
            MemorySegment part = s.asSlice(i * CHUNK, Math.min(CHUNK, s.byteSize() - i * CHUNK));
            CRC32C c = new CRC32C();
            c.update(part.asByteBuffer());
            CRC32 d = new CRC32();
            d.update(part.asByteBuffer());
            sums[i] = c.getValue() << 32 | d.getValue();
        });
        StringBuilder b = new StringBuilder();
        for (long x : sums) b.append(String.format("%016x", x));
        return b.toString();
    }

    /** The external data file a location names, or null where the importer would reject it (the same check). */
    private static Path external(Path dir, String location) {
        if (dir == null || location.isEmpty()) return null;
        try {
            return ExternalData.resolve(dir, location, "external data");
        } catch (InvalidModelException e) {
            return null;
        }
    }

    /**
     * The external data locations of every tensor in the model (initializers, Constant attributes, subgraphs), sorted,
     * found by walking the protobuf wire format and skipping everything else (weights and all) without reading it.
     * Field numbers from onnx.proto: ModelProto.graph 7; GraphProto.node 1, initializer 5; NodeProto.attribute 5;
     * AttributeProto.t 5, g 6, tensors 10, graphs 11; TensorProto.external_data 13; StringStringEntryProto key 1, value 2.
     */
    static TreeSet<String> externalLocations(MemorySegment model) throws IOException {
        TreeSet<String> out = new TreeSet<>();
        CodedInputStream in = CodedInputStream.newInstance(model.asByteBuffer());
        in.setSizeLimit(Integer.MAX_VALUE);
        walk(in, Kind.MODEL, out, 0);
        return out;
    }

    private enum Kind { MODEL, GRAPH, NODE, ATTRIBUTE, TENSOR, ENTRY }

    private static void walk(CodedInputStream in, Kind kind, TreeSet<String> out, int depth) throws IOException {
        if (depth > 64) throw new IOException("model nests too deeply");
        String key = null, value = null;
        while (!in.isAtEnd()) {
            int tag = in.readTag();
            if (tag == 0) break;
            int field = WireFormat.getTagFieldNumber(tag);
            Kind child = WireFormat.getTagWireType(tag) != WireFormat.WIRETYPE_LENGTH_DELIMITED ? null : switch (kind) {
                case MODEL -> field == 7 ? Kind.GRAPH : null;
                case GRAPH -> field == 1 ? Kind.NODE : field == 5 ? Kind.TENSOR : null;
                case NODE -> field == 5 ? Kind.ATTRIBUTE : null;
                case ATTRIBUTE -> field == 5 || field == 10 ? Kind.TENSOR : field == 6 || field == 11 ? Kind.GRAPH : null;
                case TENSOR -> field == 13 ? Kind.ENTRY : null;
                case ENTRY -> null;
            };
            if (kind == Kind.ENTRY && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED && (field == 1 || field == 2)) {
                if (field == 1) key = in.readStringRequireUtf8(); else value = in.readStringRequireUtf8();
            } else if (child != null) {
                int limit = in.pushLimit(in.readRawVarint32());
                walk(in, child, out, depth + 1);
                in.popLimit(limit);
            } else if (!in.skipField(tag)) {
                break;
            }
        }
        if (kind == Kind.ENTRY && "location".equals(key) && value != null) out.add(value);
    }
}
