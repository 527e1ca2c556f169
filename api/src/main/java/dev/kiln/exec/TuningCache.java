package dev.kiln.exec;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The autotune stage's persisted choices: one line per (problem key, GPU) with the winning variant and its
 * time, in {@code tuning.tsv} beside the kernel cache ({@code $KILN_CACHE_DIR}, else {@code ~/.cache/kiln}).
 * The GPU part of the key names the device, its arch and the driver, so a choice measured on one machine is
 * never applied to another. Writes merge with what is on disk under a file lock and replace the file by an
 * atomic rename, so two processes tuning at once lose nothing and a reader never sees half a file. A
 * malformed line is skipped (that problem is timed again).
 */
public final class TuningCache {
    /** A chosen variant and the time it took, in microseconds. */
    public record Choice(String variant, double micros) {}

    private final Path file;
    private final Map<String, Choice> entries = new LinkedHashMap<>();

    private TuningCache(Path file) { this.file = file; }

    /** The cache in {@code dir}, loaded now; a missing or unreadable file is an empty cache. */
    public static TuningCache in(Path dir) {
        TuningCache c = new TuningCache(dir.resolve("tuning.tsv"));
        c.entries.putAll(read(c.file));
        return c;
    }

    /** A cache that is never written (for tests and {@code --tune} runs that must not persist). */
    public static TuningCache inMemory() { return new TuningCache(null); }

    public Path file() { return file; }

    public synchronized Choice get(String key) { return entries.get(key); }

    public synchronized int size() { return entries.size(); }

    /** Records choices and, for a file-backed cache, merges them into the file. */
    public synchronized void putAll(Map<String, Choice> choices) {
        if (choices.isEmpty()) return;
        entries.putAll(choices);
        if (file == null) return;
        try {
            Files.createDirectories(file.getParent());
            try (FileChannel lock = FileChannel.open(file.resolveSibling("tuning.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                 FileLock l = lock.lock()) {
                Map<String, Choice> merged = new TreeMap<>(read(file));
                merged.putAll(choices);
                StringBuilder b = new StringBuilder("# Kiln autotune choices: key<TAB>variant<TAB>microseconds\n");
                for (var e : merged.entrySet())
                    b.append(e.getKey()).append('\t').append(e.getValue().variant()).append('\t').append(e.getValue().micros()).append('\n');
                Path tmp = Files.createTempFile(file.getParent(), "tuning", ".tmp");
                Files.writeString(tmp, b, StandardCharsets.UTF_8);
                try {
                    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the tuning cache " + file + ": " + e.getMessage(), e);
        }
    }

    private static Map<String, Choice> read(Path file) {
        Map<String, Choice> m = new LinkedHashMap<>();
        if (file == null) return m;
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (line.isBlank() || line.startsWith("#")) continue;
                String[] p = line.split("\t");
                if (p.length != 3 || p[0].isEmpty() || p[1].isEmpty()) continue;
                try {
                    m.put(p[0], new Choice(p[1], Double.parseDouble(p[2])));
                } catch (NumberFormatException ignored) {
                    // a torn or foreign line: that problem is tuned again
                }
            }
        } catch (NoSuchFileException e) {
            return m;
        } catch (IOException e) {
            return m; // unreadable: tune again rather than fail the compile
        }
        return m;
    }
}
