package dev.kiln.bundle;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A zip file memory-mapped and indexed from its central directory, for {@link BundleReader}: a stored entry (the
 * weights) is a slice of the mapping, so it reaches the GPU upload without a copy on the Java heap (reading
 * BERT-base's 217 MB of weights through {@code ZipFile} streams took most of a bundle's load); deflated entries
 * (IR, JSON, kernel sources) are inflated on demand. The mapping lives until no slice of it is reachable. Only
 * what {@link BundleWriter} and {@code ZipOutputStream} write is read: stored or deflated entries, no zip64 (a
 * bundle holds at most 2 GB of weights: they are one Java array when compiled).
 */
final class MappedZip {
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** One entry: its name, whether it is stored (not compressed), the CRC-32 the directory records, its data. */
    record Entry(String name, boolean stored, long crc, long size, MemorySegment data) {
        /** The entry's bytes: a copy of a stored entry, or the inflated data of a deflated one. */
        byte[] bytes() throws IOException {
            if (stored) return data.toArray(ValueLayout.JAVA_BYTE);
            if (size > Integer.MAX_VALUE - 16) throw new IOException("entry " + name + " is too large to inflate (" + size + " bytes)");
            byte[] out = new byte[(int) size];
            Inflater inf = new Inflater(true);
            try {
                inf.setInput(data.asByteBuffer());
                int n = 0;
                while (n < out.length) {
                    int k = inf.inflate(out, n, out.length - n);
                    if (k == 0 && (inf.finished() || inf.needsInput() || inf.needsDictionary())) break;
                    n += k;
                }
                if (n != out.length || !inf.finished() && inf.inflate(new byte[1]) > 0)
                    throw new IOException("entry " + name + " inflates to other than its recorded " + size + " bytes");
            } catch (DataFormatException e) {
                throw new IOException("entry " + name + " is not valid deflate data: " + e.getMessage(), e);
            } finally {
                inf.end();
            }
            return out;
        }

        /** The entry's bytes without a copy where it is stored, else inflated. */
        MemorySegment segment() throws IOException { return stored ? data : MemorySegment.ofArray(bytes()); }
    }

    private MappedZip() {}

    /**
     * The entries in directory order; an IOException for anything that is not such a zip (truncated, foreign). The
     * directory and the compressed entries are read into the heap with plain reads; only stored entries are slices of
     * the mapping, so a file truncated while it is read can fault (SIGBUS) only where those are read.
     */
    static Map<String, Entry> read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long n = ch.size();
            long tailStart = Math.max(0, n - 22 - 65535);
            MemorySegment tail = MemorySegment.ofArray(readFully(ch, tailStart, (int) (n - tailStart)));
            long eocd = -1;
            for (long p = tail.byteSize() - 22; p >= 0; p--) // the end record, behind a comment of up to 64 KB
                if (tail.get(I32, p) == 0x06054b50) { eocd = p; break; }
            if (eocd < 0) throw new IOException("no zip end record");
            int count = Short.toUnsignedInt(tail.get(I16, eocd + 10));
            long dirSize = Integer.toUnsignedLong(tail.get(I32, eocd + 12)), dirOffset = Integer.toUnsignedLong(tail.get(I32, eocd + 16));
            if (count == 0xFFFF || dirOffset == 0xFFFFFFFFL) throw new IOException("zip64 archives are not bundles");
            if (dirOffset + dirSize > tailStart + eocd || dirSize > Integer.MAX_VALUE) throw new IOException("zip directory outside the file (truncated?)");
            MemorySegment dir = MemorySegment.ofArray(readFully(ch, dirOffset, (int) dirSize));
            MemorySegment mapped = null;
            Map<String, Entry> entries = new LinkedHashMap<>();
            long p = 0;
            for (int i = 0; i < count; i++) {
                if (p + 46 > dir.byteSize() || dir.get(I32, p) != 0x02014b50) throw new IOException("damaged zip directory");
                int method = Short.toUnsignedInt(dir.get(I16, p + 10));
                long crc = Integer.toUnsignedLong(dir.get(I32, p + 16));
                long csize = Integer.toUnsignedLong(dir.get(I32, p + 20)), size = Integer.toUnsignedLong(dir.get(I32, p + 24));
                int nameLen = Short.toUnsignedInt(dir.get(I16, p + 28)), extraLen = Short.toUnsignedInt(dir.get(I16, p + 30)),
                        commentLen = Short.toUnsignedInt(dir.get(I16, p + 32));
                long local = Integer.toUnsignedLong(dir.get(I32, p + 42));
                if (p + 46 + nameLen > dir.byteSize()) throw new IOException("damaged zip directory");
                String name = new String(dir.asSlice(p + 46, nameLen).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
                p += 46 + nameLen + extraLen + commentLen;
                if (method != 0 && method != 8) throw new IOException("entry " + name + " uses zip method " + method);
                if (local + 30 > dirOffset) throw new IOException("entry " + name + " is damaged or truncated");
                MemorySegment header = MemorySegment.ofArray(readFully(ch, local, 30));
                if (header.get(I32, 0) != 0x04034b50) throw new IOException("entry " + name + " is damaged or truncated");
                long data = local + 30 + Short.toUnsignedInt(header.get(I16, 26)) + Short.toUnsignedInt(header.get(I16, 28));
                if (data + csize > dirOffset || method == 0 && csize != size) throw new IOException("entry " + name + " is damaged or truncated");
                MemorySegment bytes;
                if (method == 0 && csize > 1 << 20) {
                    if (mapped == null) mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, n, Arena.ofAuto());
                    bytes = mapped.asSlice(data, csize);
                } else {
                    if (csize > Integer.MAX_VALUE - 16) throw new IOException("entry " + name + " is too large");
                    bytes = MemorySegment.ofArray(readFully(ch, data, (int) csize));
                }
                if (entries.put(name, new Entry(name, method == 0, crc, size, bytes)) != null)
                    throw new IOException("entry " + name + " appears twice");
            }
            return entries;
        }
    }

    private static byte[] readFully(FileChannel ch, long position, int length) throws IOException {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(length);
        while (b.hasRemaining()) if (ch.read(b, position + b.position()) < 0) throw new IOException("unexpected end of file (truncated?)");
        return b.array();
    }
}
