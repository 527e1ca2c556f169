package dev.kiln.frontend;

import dev.kiln.frontend.proto.Onnx.StringStringEntryProto;
import dev.kiln.frontend.proto.Onnx.TensorProto;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.Tensor;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Reads a tensor's bytes from an external file ({@code data_location = EXTERNAL}). A location is trusted only
 * inside the model's folder: absolute paths, {@code ..} components and links whose real path leaves the folder
 * are rejected, and offset/length are checked against the file and the tensor's shape before any allocation.
 */
public final class ExternalData {
    private ExternalData() {}

    static byte[] read(TensorProto p, Path baseDir, long expectedBytes, String what) {
        String location = null, checksum = null;
        long offset = 0, length = -1;
        for (StringStringEntryProto e : p.getExternalDataList()) {
            switch (e.getKey()) {
                case "location" -> location = e.getValue();
                case "offset" -> offset = parse(e.getValue(), "offset", what);
                case "length" -> length = parse(e.getValue(), "length", what);
                case "checksum" -> checksum = e.getValue();
                default -> { } // unknown keys carry no data
            }
        }
        if (location == null || location.isEmpty())
            throw new InvalidModelException(what + " has external data without a 'location' key");
        if (baseDir == null)
            throw new InvalidModelException(what + " keeps its data in external file '" + location
                    + "', but the model was loaded from bytes with no folder; load it from its file or pass its folder");
        Path file = resolve(baseDir, location, what);
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            throw new InvalidModelException(what + ": cannot read external data file '" + location + "': " + e, e);
        }
        if (offset > size)
            throw new InvalidModelException(what + ": external data offset " + offset + " is past the end of '"
                    + location + "' (" + size + " bytes); the data file is truncated or does not belong to this model");
        if (length < 0) length = size - offset;
        if (length > size - offset)
            throw new InvalidModelException(what + ": external data '" + location + "' needs bytes " + offset + ".."
                    + (offset + length) + " but the file has " + size + "; the data file is truncated");
        if (length != expectedBytes)
            throw new InvalidModelException(what + ": external data has " + length + " bytes but its shape needs "
                    + expectedBytes + "; the payload does not match the shape");
        if (length > Tensor.MAX_ELEMENTS)
            throw new InvalidModelException(what + ": external data of " + length + " bytes is too large for a host tensor");
        byte[] data = new byte[(int) length];
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.wrap(data);
            long pos = offset;
            while (buf.hasRemaining()) {
                int r = ch.read(buf, pos);
                if (r < 0) throw new EOFException("file ended early");
                pos += r;
            }
        } catch (IOException e) {
            throw new InvalidModelException(what + ": cannot read external data '" + location + "': " + e, e);
        }
        if (checksum != null && !checksum.isEmpty() && !checksum.equalsIgnoreCase(sha1(data)))
            throw new InvalidModelException(what + ": external data '" + location + "' fails its SHA-1 checksum; the file is corrupt");
        return data;
    }

    private static long parse(String s, String key, String what) {
        try {
            long v = Long.parseLong(s.trim());
            if (v < 0) throw new NumberFormatException("negative");
            return v;
        } catch (NumberFormatException e) {
            throw new InvalidModelException(what + ": external data '" + key + "' is '" + s + "', not a non-negative integer");
        }
    }

    /**
     * The file a location names, if it is a relative path that stays inside {@code baseDir} (links included) and
     * is a regular file; else an {@link InvalidModelException} that says why ({@code what}: the tensor, for it).
     */
    public static Path resolve(Path baseDir, String location, String what) {
        String bad = null;
        if (location.startsWith("/") || location.startsWith("\\") || location.matches("^[A-Za-z]:.*")
                || location.indexOf('\0') >= 0)
            bad = "is absolute";
        else for (String part : location.split("[/\\\\]")) if (part.equals("..")) bad = "contains '..'";
        Path file;
        if (bad == null) {
            try {
                file = baseDir.resolve(location).normalize();
                if (file.isAbsolute() != baseDir.isAbsolute() || !file.startsWith(baseDir.normalize())) bad = "leaves the model folder";
            } catch (java.nio.file.InvalidPathException e) {
                throw new InvalidModelException(what + ": external data location '" + location + "' is not a valid path");
            }
        } else file = null;
        if (bad != null)
            throw new InvalidModelException(what + ": external data location '" + location + "' " + bad
                    + "; locations must be relative paths inside the model's folder");
        try {
            Path real = file.toRealPath(), base = baseDir.toRealPath();
            if (!real.startsWith(base))
                throw new InvalidModelException(what + ": external data location '" + location
                        + "' is a link leading outside the model's folder (to " + real + "); copy the data next to the model");
            if (!Files.isRegularFile(real))
                throw new InvalidModelException(what + ": external data location '" + location + "' is not a regular file");
            return real;
        } catch (NoSuchFileException e) {
            throw new InvalidModelException(what + ": external data file '" + location + "' does not exist in " + baseDir);
        } catch (IOException e) {
            throw new InvalidModelException(what + ": cannot resolve external data file '" + location + "': " + e, e);
        }
    }

    private static String sha1(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
