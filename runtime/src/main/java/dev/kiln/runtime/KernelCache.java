package dev.kiln.runtime;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Compiled kernels by content: the key is SHA-256 of (source, options, arch, compiler version), so any
 * change to what would be compiled is a new entry and nothing is ever invalidated by hand. Entries live
 * in memory and in {@code dir} ({@code $KILN_CACHE_DIR}, else {@code ~/.cache/kiln}). An entry holds the
 * CUBIN; the PTX is compiled into it the first time someone asks for it ({@link #getWithPtx}).
 *
 * <p>Disk writes go to a temp file that is renamed over the entry, so a reader sees a whole entry or
 * none. Reads verify length and checksum ({@link CacheEntry}); a bad entry is deleted and recompiled.
 * Two JVMs asking for the same kernel serialise on a lock file per key, so it is compiled once; if the
 * file system cannot lock, both compile and the rename keeps the result whole either way.
 */
public final class KernelCache {
    /** In-JVM guard per key: FileLock is per process, a second thread locking the same file would throw. */
    private static final Map<String, Object> JVM_LOCKS = new ConcurrentHashMap<>();

    private final Path dir;
    private final KernelCompiler compiler;
    private final Map<String, CompiledKernel> memory = new ConcurrentHashMap<>();
    private final AtomicLong memoryHits = new AtomicLong(), diskHits = new AtomicLong(),
            compiles = new AtomicLong(), ptxCompiles = new AtomicLong(), discarded = new AtomicLong();
    private final List<String> discardReasons = java.util.Collections.synchronizedList(new ArrayList<>());

    public KernelCache(Path dir, KernelCompiler compiler) {
        this.dir = dir.toAbsolutePath();
        this.compiler = compiler;
    }

    /** The cache in the default folder, compiling with the NVRTC found on this machine. */
    public static KernelCache standard() {
        return new KernelCache(defaultDir(System.getenv()), NvrtcCompiler.standard());
    }

    /** {@code -Dkiln.cacheDir}, else {@code $KILN_CACHE_DIR}, else {@code ~/.cache/kiln}. */
    public static Path defaultDir(Map<String, String> env) {
        String p = System.getProperty("kiln.cacheDir");
        if (p != null && !p.isBlank()) return Path.of(p);
        String d = env.get("KILN_CACHE_DIR");
        if (d != null && !d.isBlank()) return Path.of(d);
        return Path.of(System.getProperty("user.home"), ".cache", "kiln");
    }

    public Path dir() { return dir; }

    public KernelCompiler compiler() { return compiler; }

    /** Hex SHA-256 of the fields, each length-prefixed so that no two field lists hash alike by concatenation. */
    public String key(CompileRequest r) {
        var parts = new ArrayList<String>();
        parts.add(r.source());
        parts.add(String.join("\u0000", r.options()));
        parts.add(r.arch());
        parts.add(compiler.version());
        var bytes = new java.io.ByteArrayOutputStream();
        for (String p : parts) {
            byte[] b = p.getBytes(StandardCharsets.UTF_8);
            bytes.writeBytes(ByteBuffer.allocate(4).putInt(b.length).array());
            bytes.writeBytes(b);
        }
        return HexFormat.of().formatHex(CacheEntry.sha256(bytes.toByteArray()));
    }

    public Path entryPath(CompileRequest r) {
        return dir.resolve(key(r) + ".kbin");
    }

    /**
     * The compiled kernel for {@code r}: from memory, else from disk, else compiled and stored. It holds the
     * CUBIN; its PTX may be empty ({@link #getWithPtx}). Safe to call from many threads at once, for the same
     * key (compiled once) and for different ones (compiled in parallel).
     */
    public CompiledKernel get(CompileRequest r) { return fetch(r, false); }

    /** {@link #get}, with the PTX too (bundles store it): compiled now and stored if the entry lacked it. */
    public CompiledKernel getWithPtx(CompileRequest r) { return fetch(r, true); }

    private CompiledKernel fetch(CompileRequest r, boolean needPtx) {
        String key = key(r);
        CompiledKernel hit = memory.get(key);
        if (hit != null && (!needPtx || hit.ptx().length > 0)) {
            memoryHits.incrementAndGet();
            return hit;
        }
        Path file = dir.resolve(key + ".kbin");
        synchronized (JVM_LOCKS.computeIfAbsent(file.toString(), k -> new Object())) {
            hit = memory.get(key);
            if (hit != null && (!needPtx || hit.ptx().length > 0)) {
                memoryHits.incrementAndGet();
                return hit;
            }
            try {
                Files.createDirectories(dir);
            } catch (IOException e) {
                throw new IllegalStateException("cannot create kernel cache folder " + dir, e);
            }
            try (var lock = ProcessLock.acquire(dir.resolve(key + ".lock"))) {
                // another process may have added the PTX since this one read the entry: the disk comes first
                CompiledKernel k = readDisk(file);
                boolean changed = false;
                if (k != null) {
                    if (hit == null) diskHits.incrementAndGet();
                } else if (hit != null) {
                    k = hit;
                    changed = true; // the file went away: write it back
                } else {
                    k = compiler.compile(r);
                    compiles.incrementAndGet();
                    changed = true;
                }
                if (needPtx && k.ptx().length == 0) {
                    k = new CompiledKernel(k.arch(), k.cubin(), compiler.ptx(r), k.log());
                    ptxCompiles.incrementAndGet();
                    changed = true;
                }
                if (changed) writeAtomically(file, CacheEntry.encode(k));
                memory.put(key, k);
                return k;
            }
        }
    }

    /**
     * Every request compiled (or fetched) in parallel on {@link CompilePool}; results in request order. Waits
     * for all, then throws the first failure in request order (a {@link CompileException} as is).
     */
    public List<CompiledKernel> getAll(List<CompileRequest> requests, Progress progress) {
        return CompilePool.await(CompilePool.submit(requests, this::get, progress));
    }

    /** Compiles (or fetches) and loads in one step; the common path for codegen. */
    public CudaModule load(Context ctx, String source, String name, List<String> options) {
        return CudaModule.load(ctx, get(new CompileRequest(source, name, options, ctx.device().arch())));
    }

    public CudaModule load(Context ctx, String source, String name) {
        return load(ctx, source, name, NvrtcCompiler.defaultOptions());
    }

    private CompiledKernel readDisk(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            return discard(file, "unreadable: " + e);
        }
        try {
            return CacheEntry.decode(bytes);
        } catch (CacheEntry.Corrupt c) {
            return discard(file, c.getMessage());
        }
    }

    private CompiledKernel discard(Path file, String why) {
        discarded.incrementAndGet();
        discardReasons.add(file.getFileName() + ": " + why);
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // the rename of the fresh entry replaces it anyway
        }
        return null;
    }

    static void writeAtomically(Path file, byte[] bytes) {
        Path tmp = null;
        try {
            tmp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp");
            try (var ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                var buf = ByteBuffer.wrap(bytes);
                while (buf.hasRemaining()) ch.write(buf);
                ch.force(true);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            // a cache that cannot write still works from memory; say why once per failure
            System.err.println("kiln: could not write kernel cache entry " + file + ": " + e);
            if (tmp != null) try { Files.deleteIfExists(tmp); } catch (IOException ignored) { /* best effort */ }
        }
    }

    public long memoryHits() { return memoryHits.get(); }
    public long diskHits() { return diskHits.get(); }
    /** NVRTC compiles of CUBINs (cache misses). */
    public long compiles() { return compiles.get(); }
    /** NVRTC compiles of PTX added to entries that lacked it. */
    public long ptxCompiles() { return ptxCompiles.get(); }
    public long discarded() { return discarded.get(); }
    public List<String> discardReasons() { return List.copyOf(discardReasons); }

    /** Forgets the in-memory entries (the disk stays); for measuring disk loads. */
    public void clearMemory() { memory.clear(); }

    /** An exclusive lock on a file shared by all processes; no lock (and no failure) where the file system has none. */
    private record ProcessLock(FileChannel channel, FileLock lock) implements AutoCloseable {
        static ProcessLock acquire(Path path) {
            try {
                FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                try {
                    return new ProcessLock(ch, ch.lock());
                } catch (IOException e) {
                    ch.close();
                    return new ProcessLock(null, null);
                }
            } catch (IOException e) {
                return new ProcessLock(null, null);
            }
        }

        public void close() {
            try {
                if (lock != null) lock.release();
                if (channel != null) channel.close();
            } catch (IOException ignored) {
                // closing the channel releases the lock regardless
            }
        }
    }
}
