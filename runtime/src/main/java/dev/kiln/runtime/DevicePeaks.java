package dev.kiln.runtime;


import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What one GPU can do, measured on it with small generated kernels: device memory bandwidth (a large copy,
 * bytes read plus written), tensor-core throughput with {@code mma.sync m16n8k16} in f16 and bf16 (f32
 * accumulate), and f32 FMA throughput. A profile's roofline uses them as its ceilings. Measured once per
 * (device name, driver, arch) and cached as a small JSON file in the kernel cache folder.
 *
 * <p>The tensor-core figure is what {@code mma.sync} reaches; Hopper's {@code wgmma} goes higher, so a kernel
 * built on it could show more than 100% of this roofline. Zero means not measured (no {@code mma} of that type
 * before sm_80).
 */
public record DevicePeaks(String device, String arch, int driverVersion, double memoryGBs, double f16TFlops,
                          double bf16TFlops, double f32TFlops, String measured) {

    /** The compute ceiling for a contraction in {@code dtype} (IR text name: f16, bf16, f32...), in TFLOP/s. */
    public double tflops(String dtype) {
        double t = switch (dtype) {
            case "f16" -> f16TFlops;
            case "bf16" -> bf16TFlops;
            default -> f32TFlops;
        };
        return t > 0 ? t : f32TFlops;
    }

    /** The cached figures for this context's GPU, else measures them (a few seconds) and caches them. */
    public static DevicePeaks cachedOrMeasure(Context ctx, KernelCache cache) {
        Device d = ctx.device();
        int driver = Cuda.driverVersion();
        Path file = file(cache.dir(), d.name(), d.arch(), driver);
        DevicePeaks cached = read(file);
        if (cached != null && cached.device.equals(d.name()) && cached.arch.equals(d.arch()) && cached.driverVersion == driver)
            return cached;
        // what the cache file holds (rounded), so this call and every later one give the same peaks
        DevicePeaks p = fromJson(measure(ctx, cache).toJson());
        write(file, p);
        return p;
    }

    /** The cache file for a device: one per (name, arch, driver), named so a person can tell them apart. */
    static Path file(Path dir, String device, String arch, int driver) {
        String slug = (device + "-" + arch + "-driver" + driver).replaceAll("[^A-Za-z0-9_.-]+", "_");
        return dir.resolve("device-peaks").resolve(slug + ".json");
    }

    public static DevicePeaks measure(Context ctx, KernelCache cache) {
        Device d = ctx.device();
        try (Stream s = ctx.createStream(); Event a = ctx.createEvent(); Event b = ctx.createEvent();
             DeviceBuffer sink = ctx.allocate(16)) {
            double gbs = bandwidth(ctx, cache, s, a, b);
            boolean mma = d.ccMajor() >= 8;
            double f16 = mma ? throughput(ctx, cache, PeakKernels.MMA_F16, "kiln_peak_mma_f16", 4096, 32, 4000, s, a, b, sink) : 0;
            double bf16 = mma ? throughput(ctx, cache, PeakKernels.MMA_BF16, "kiln_peak_mma_bf16", 4096, 32, 4000, s, a, b, sink) : 0;
            double f32 = throughput(ctx, cache, PeakKernels.FMA, "kiln_peak_fma", 2, 1, 20000, s, a, b, sink);
            return new DevicePeaks(d.name(), d.arch(), Cuda.driverVersion(), gbs, f16, bf16, f32, Instant.now().toString());
        }
    }

    private static CudaModule load(Context ctx, KernelCache cache, String source, String name) {
        return CudaModule.load(ctx, cache.get(new CompileRequest(source, name + ".cu", NvrtcCompiler.defaultOptions(), ctx.device().arch())));
    }

    /** GB/s of a device copy, counting bytes read plus written; median of several after a warm-up. */
    private static double bandwidth(Context ctx, KernelCache cache, Stream s, Event a, Event b) {
        long bytes = Math.min(512L << 20, ctx.memoryInfo()[0] / 4) & ~15L;
        try (CudaModule m = load(ctx, cache, PeakKernels.COPY, "kiln_peak_copy");
             DeviceBuffer src = ctx.allocate(bytes); DeviceBuffer dst = ctx.allocate(bytes)) {
            src.fillAsync((byte) 1, s);
            Kernel k = m.kernel("kiln_peak_copy");
            long n16 = bytes / 16;
            KernelArgs args = new KernelArgs(3).pointer(dst).pointer(src).i64(n16);
            double[] gbs = new double[9];
            for (int r = -2; r < gbs.length; r++) {
                a.record(s);
                k.launch(s, Dim3.cover(n16, 256 * 4), Dim3.of(256), 0, args);
                b.record(s);
                double ms = b.elapsedMillis(a);
                if (r >= 0) gbs[r] = 2.0 * bytes / (ms * 1e-3) / 1e9;
            }
            return median(gbs);
        }
    }

    /**
     * TFLOP/s of a register-only throughput kernel: every thread (or warp, {@code perWarp} = 32) does
     * {@link PeakKernels#CHAINS} operations of {@code flopsPerOp} per iteration. Four blocks of 128 threads per SM:
     * one wave, all resident at once whatever the register use (16 warps of 8 independent chains keep every
     * pipe busy); the iteration count is scaled after a trial so that the timed runs take ~20 ms.
     */
    private static double throughput(Context ctx, KernelCache cache, String source, String entry, double flopsPerOp,
                                     int perWarp, int trialIters, Stream s, Event a, Event b, DeviceBuffer sink) {
        try (CudaModule m = load(ctx, cache, source, entry)) {
            Kernel k = m.kernel(entry);
            int blocks = ctx.device().multiprocessors() * 4, threads = 128;
            double opsPerIter = (double) blocks * threads / perWarp * PeakKernels.CHAINS * flopsPerOp;
            double trial = timeOnce(k, s, a, b, sink, blocks, threads, trialIters);
            int iters = (int) Math.max(trialIters, Math.min(1e8, trialIters * 20.0 / Math.max(trial, 1e-3)));
            double[] tflops = new double[5];
            timeOnce(k, s, a, b, sink, blocks, threads, iters); // warm-up at the timed size
            for (int r = 0; r < tflops.length; r++)
                tflops[r] = opsPerIter * iters / (timeOnce(k, s, a, b, sink, blocks, threads, iters) * 1e-3) / 1e12;
            return median(tflops);
        }
    }

    private static double timeOnce(Kernel k, Stream s, Event a, Event b, DeviceBuffer sink, int blocks, int threads, int iters) {
        a.record(s);
        k.launch(s, Dim3.of(blocks), Dim3.of(threads), 0, new KernelArgs(2).pointer(sink).i32(iters));
        b.record(s);
        return b.elapsedMillis(a);
    }

    private static double median(double[] xs) {
        double[] c = xs.clone();
        Arrays.sort(c);
        return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
    }

    // ---- the cache file: one flat JSON object ----

    public String toJson() {
        return String.format(Locale.ROOT, """
                {"device": "%s", "arch": "%s", "driverVersion": %d, "memoryGBs": %.1f, "f16TFlops": %.2f, "bf16TFlops": %.2f, \
                "f32TFlops": %.2f, "measured": "%s"}
                """, esc(device), esc(arch), driverVersion, memoryGBs, f16TFlops, bf16TFlops, f32TFlops, esc(measured));
    }

    private static final Pattern FIELD = Pattern.compile("\"(\\w+)\"\\s*:\\s*(\"((?:[^\"\\\\]|\\\\.)*)\"|[-+0-9.eE]+)");

    /** Parses {@link #toJson()}'s output; null if a field is missing or malformed (the caller measures again). */
    public static DevicePeaks fromJson(String json) {
        Map<String, String> f = new HashMap<>();
        Matcher m = FIELD.matcher(json);
        while (m.find()) f.put(m.group(1), m.group(3) != null ? m.group(3).replace("\\\"", "\"").replace("\\\\", "\\") : m.group(2));
        try {
            return new DevicePeaks(need(f, "device"), need(f, "arch"), Integer.parseInt(need(f, "driverVersion")),
                    Double.parseDouble(need(f, "memoryGBs")), Double.parseDouble(need(f, "f16TFlops")),
                    Double.parseDouble(need(f, "bf16TFlops")), Double.parseDouble(need(f, "f32TFlops")), f.getOrDefault("measured", ""));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static String need(Map<String, String> f, String key) {
        String v = f.get(key);
        if (v == null) throw new IllegalArgumentException("missing " + key);
        return v;
    }

    private static String esc(String s) { return s.replace("\\", "\\\\").replace("\"", "\\\""); }

    static DevicePeaks read(Path file) {
        try {
            return Files.isRegularFile(file) ? fromJson(Files.readString(file, StandardCharsets.UTF_8)) : null;
        } catch (IOException e) {
            return null; // unreadable: measure again
        }
    }

    /** Atomic (temp file + rename); a cache that cannot be written only costs a measurement next time. */
    static void write(Path file, DevicePeaks p) {
        Path tmp = null;
        try {
            Files.createDirectories(file.getParent());
            tmp = Files.createTempFile(file.getParent(), ".peaks", ".tmp");
            Files.writeString(tmp, p.toJson(), StandardCharsets.UTF_8);
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            System.err.println("kiln: could not cache device peaks in " + file + ": " + e.getMessage());
        } finally {
            if (tmp != null) try { Files.deleteIfExists(tmp); } catch (IOException ignored) { /* best effort */ }
        }
    }
}
