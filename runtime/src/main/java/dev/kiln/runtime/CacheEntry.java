package dev.kiln.runtime;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * The on-disk form of a {@link CompiledKernel}: a fixed header (magic, format, payload length, SHA-256 of
 * the payload) then the payload (arch, cubin, ptx, log, each length-prefixed). The header makes a
 * truncated or corrupted file detectable, so the cache can throw it away instead of loading garbage.
 */
final class CacheEntry {
    static final byte[] MAGIC = "KILNKC01".getBytes(StandardCharsets.US_ASCII);
    static final int HEADER = MAGIC.length + 8 + 32;

    private CacheEntry() {}

    static byte[] encode(CompiledKernel k) {
        try {
            var payload = new ByteArrayOutputStream();
            var out = new DataOutputStream(payload);
            writeBytes(out, k.arch().getBytes(StandardCharsets.UTF_8));
            writeBytes(out, k.cubin());
            writeBytes(out, k.ptx());
            writeBytes(out, k.log().getBytes(StandardCharsets.UTF_8));
            byte[] body = payload.toByteArray();
            return ByteBuffer.allocate(HEADER + body.length).put(MAGIC).putLong(body.length).put(sha256(body)).put(body).array();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Decodes a file's bytes; throws {@link Corrupt} saying what is wrong when they are not a whole entry. */
    static CompiledKernel decode(byte[] file) throws Corrupt {
        if (file.length < HEADER) throw new Corrupt("shorter than the header (" + file.length + " bytes)");
        var buf = ByteBuffer.wrap(file);
        byte[] magic = new byte[MAGIC.length];
        buf.get(magic);
        if (!Arrays.equals(magic, MAGIC)) throw new Corrupt("bad magic");
        long len = buf.getLong();
        if (len != file.length - HEADER) throw new Corrupt("payload is " + (file.length - HEADER) + " bytes, header says " + len);
        byte[] sum = new byte[32];
        buf.get(sum);
        byte[] body = Arrays.copyOfRange(file, HEADER, file.length);
        if (!MessageDigest.isEqual(sum, sha256(body))) throw new Corrupt("checksum mismatch");
        try {
            var in = new DataInputStream(new java.io.ByteArrayInputStream(body));
            String arch = new String(readBytes(in), StandardCharsets.UTF_8);
            byte[] cubin = readBytes(in);
            byte[] ptx = readBytes(in);
            String log = new String(readBytes(in), StandardCharsets.UTF_8);
            return new CompiledKernel(arch, cubin, ptx, log);
        } catch (IOException e) {
            throw new Corrupt("payload does not parse: " + e);
        }
    }

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void writeBytes(DataOutputStream out, byte[] b) throws IOException {
        out.writeInt(b.length);
        out.write(b);
    }

    private static byte[] readBytes(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > in.available()) throw new IOException("bad length " + n);
        return in.readNBytes(n);
    }

    static final class Corrupt extends Exception {
        Corrupt(String why) {
            super(why);
        }
    }
}
