package dev.kiln.bundle;

import dev.kiln.CompileOptions;
import dev.kiln.CompiledModel;
import dev.kiln.Kiln;
import dev.kiln.runtime.Cuda;
import dev.kiln.runtime.Device;
import dev.kiln.runtime.KernelCache;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.CodeSource;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Compiled plans by model file: a warm {@code Kiln.compile(model.onnx)} (and {@code kiln run model.onnx}) skips
 * import, passes and codegen. The key is the SHA-256 of the model's bytes and its external data files
 * ({@link ModelFingerprint}), the compile options that change the plan, the Kiln version and build (the jars or
 * class folders it runs from), and the GPU the plan was made for (arch, name, multiprocessors, driver: tuning and
 * grid sizes depend on them). The value is a bundle ({@link BundleWriter}, with no PTX or CUBIN: the kernel cache
 * has those), in {@code plans/} of the kernel cache's folder. Entries are written to a temp file and renamed, so a
 * reader sees a whole entry or none, and two writers of one key leave one whole entry; the folder is kept under a
 * size bound ({@code kiln.planCacheBytes}, default 4 GiB) by deleting the entries used longest ago. An entry that
 * cannot be read is reported in one line, deleted and compiled again.
 */
public final class PlanCache {
    public static final long DEFAULT_MAX_BYTES = 4L << 30;
    private static final String SUFFIX = ".kiln";
    private static volatile String build;

    private final Path dir;
    private final long maxBytes;

    public PlanCache(Path dir, long maxBytes) {
        this.dir = dir.toAbsolutePath();
        this.maxBytes = maxBytes;
    }

    /** {@code plans/} in the kernel cache's folder ({@code $KILN_CACHE_DIR}, else {@code ~/.cache/kiln}). */
    public static PlanCache standard() {
        return new PlanCache(KernelCache.defaultDir(System.getenv()).resolve("plans"), Long.getLong("kiln.planCacheBytes", DEFAULT_MAX_BYTES));
    }

    public Path dir() { return dir; }

    /** Whether a compile with these options may use the cache: not when it dumps or verifies after every pass. */
    public static boolean applies(CompileOptions o) { return o.planCache() && o.dumpDir() == null && !o.verifyEach(); }

    /** The key of {@code model} compiled with {@code options} for {@code arch} on this machine. */
    public static String key(Path model, CompileOptions options, String arch) throws IOException {
        return key(model, options, () -> arch);
    }

    /**
     * {@link #key(Path, CompileOptions, String)} with the arch asked for only after the model is hashed: the CLI's
     * CUDA start (which the arch waits for) finishes meanwhile.
     */
    public static String key(Path model, CompileOptions options, java.util.function.Supplier<String> targetArch) throws IOException {
        List<String> fingerprint = ModelFingerprint.of(model);
        String arch = targetArch.get();
        StringBuilder b = new StringBuilder("kiln plan cache 1\n");
        b.append("kiln ").append(Kiln.VERSION).append(' ').append(build()).append('\n');
        b.append("bundle format ").append(BundleWriter.FORMAT_VERSION).append('\n');
        b.append("options ").append(options.precision()).append(' ').append(arch).append(" tf32=").append(options.allowTf32())
                .append(" tune=").append(options.tune()).append(" fuseViews=").append(options.fuseViews())
                .append(" channelsLast=").append(options.channelsLast()).append(" f32Residuals=").append(options.f32Residuals()).append('\n');
        // kiln.* switches that reach codegen without passing through CompileOptions (kiln.gemm.wgmma...) change the plan too
        new java.util.TreeMap<>(System.getProperties()).forEach((k, v) -> {
            if (k instanceof String s && s.startsWith("kiln.") && !s.startsWith("kiln.planCache")) b.append("property ").append(s).append('=').append(v).append('\n');
        });
        b.append("gpu ").append(gpu()).append('\n');
        for (String l : fingerprint) b.append(l).append('\n');
        return sha256(b.toString());
    }

    /** The entry for {@code key}, or empty: absent, or unreadable (then reported on standard error and deleted). */
    public Optional<CompiledModel> get(String key) {
        Path f = dir.resolve(key + SUFFIX);
        if (!Files.isRegularFile(f)) return Optional.empty();
        try {
            CompiledModel m = BundleReader.read(f).model();
            try {
                Files.setLastModifiedTime(f, FileTime.fromMillis(System.currentTimeMillis())); // eviction drops the least recently used
            } catch (IOException ignored) { /* read-only cache: still a hit */ }
            return Optional.of(m);
        } catch (RuntimeException e) {
            System.err.println("kiln: warning: ignoring unreadable plan cache entry " + f + " (" + e.getMessage() + "); compiling again");
            try {
                Files.deleteIfExists(f);
            } catch (IOException ignored) { /* the next write replaces it */ }
            return Optional.empty();
        }
    }

    /** Stores {@code model} under {@code key} (atomically), then keeps the folder under its size bound. */
    public void put(String key, CompiledModel model) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new BundleException("cannot create plan cache folder " + dir + ": " + e.getMessage(), e);
        }
        BundleWriter.write(model, dir.resolve(key + SUFFIX), BundleWriter.Binaries.NONE);
        evict(key);
    }

    private static final List<Thread> WRITES = new ArrayList<>();

    /**
     * {@link #put} on a thread of its own (not a daemon: a JVM that ends normally waits for it), so the first run of a
     * model is not held up by the write; a failure is reported in one line.
     */
    public static void putLater(PlanCache cache, String key, CompiledModel model) {
        Thread t = Thread.ofPlatform().name("kiln-plan-cache-write").unstarted(() -> {
            try {
                cache.put(key, model);
            } catch (RuntimeException e) {
                System.err.println("kiln: warning: could not store the plan in the plan cache " + cache.dir + ": " + e.getMessage());
            }
        });
        synchronized (WRITES) {
            WRITES.removeIf(w -> !w.isAlive());
            WRITES.add(t);
        }
        t.start();
    }

    /** Waits for the writes {@link #putLater} started (the CLI calls it before System.exit, which would cut them off). */
    public static void awaitWrites() {
        List<Thread> pending;
        synchronized (WRITES) {
            pending = new ArrayList<>(WRITES);
        }
        for (Thread t : pending) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Deletes entries used longest ago until the folder holds at most maxBytes (the one just written stays). */
    void evict(String keep) {
        List<Path> files = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> p.getFileName().toString().endsWith(SUFFIX)).forEach(files::add);
        } catch (IOException e) {
            return;
        }
        record Sized(Path path, long bytes, long used) {}
        List<Sized> all = new ArrayList<>();
        long total = 0;
        for (Path p : files) {
            try {
                Sized z = new Sized(p, Files.size(p), Files.getLastModifiedTime(p).toMillis());
                all.add(z);
                total += z.bytes;
            } catch (IOException ignored) { /* deleted by another process meanwhile */ }
        }
        all.sort(Comparator.comparingLong(Sized::used));
        for (Sized z : all) {
            if (total <= maxBytes) break;
            if (z.path.getFileName().toString().equals(keep + SUFFIX)) continue;
            try {
                Files.deleteIfExists(z.path);
                total -= z.bytes;
            } catch (IOException ignored) { /* another process holds or removed it */ }
        }
    }

    /** The GPU the plan is for, when there is one: tuning choices and grid sizes depend on it. */
    private static String gpu() {
        if (!Cuda.available()) return "none";
        return Device.get(Integer.getInteger("kiln.device", 0)).identity();
    }

    /**
     * This Kiln's build: for each module the jar (name, size, time) or, for class folders (a development build), the
     * number, total size and newest time of their files. A rebuild of any module makes new keys.
     */
    static String build() {
        String b = build;
        if (b != null) return b;
        StringBuilder s = new StringBuilder();
        for (Class<?> c : List.of(Kiln.class, dev.kiln.ir.Graph.class, dev.kiln.frontend.OnnxImporter.class, dev.kiln.passes.PassManager.class,
                dev.kiln.codegen.Codegen.class, KernelCache.class)) {
            CodeSource cs = c.getProtectionDomain().getCodeSource();
            if (cs == null || cs.getLocation() == null) {
                s.append(c.getName()).append(" unknown;");
                continue;
            }
            try {
                Path p = Path.of(cs.getLocation().toURI());
                if (Files.isDirectory(p)) {
                    long[] t = {0, 0, 0};
                    try (Stream<Path> w = Files.walk(p)) {
                        w.filter(Files::isRegularFile).forEach(f -> {
                            try {
                                t[0]++;
                                t[1] += Files.size(f);
                                t[2] = Math.max(t[2], Files.getLastModifiedTime(f).toMillis());
                            } catch (IOException ignored) { /* changing under us: the next build differs anyway */ }
                        });
                    }
                    s.append(p).append(' ').append(t[0]).append(' ').append(t[1]).append(' ').append(t[2]).append(';');
                } else {
                    s.append(p).append(' ').append(Files.size(p)).append(' ').append(Files.getLastModifiedTime(p).toMillis()).append(';');
                }
            } catch (IOException | URISyntaxException | IllegalArgumentException e) {
                s.append(cs.getLocation()).append(" unreadable;");
            }
        }
        build = b = sha256(s.toString());
        return b;
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
