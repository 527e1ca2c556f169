package dev.kiln.bench;

import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.kernels.contract.AttentionTemplate;
import dev.kiln.codegen.kernels.contract.FlashConfig;
import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Node;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.runtime.Context;
import dev.kiln.runtime.Cuda;
import dev.kiln.runtime.CudaModule;
import dev.kiln.runtime.DeviceBuffer;
import dev.kiln.runtime.Dim3;
import dev.kiln.runtime.Doctor;
import dev.kiln.runtime.Event;
import dev.kiln.runtime.GraphExec;
import dev.kiln.runtime.Kernel;
import dev.kiln.runtime.KernelArgs;
import dev.kiln.runtime.KernelCache;
import dev.kiln.runtime.NvrtcCompiler;
import dev.kiln.runtime.Stream;
import dev.kiln.runtime.plan.CompileFlags;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Attention micro-benchmark (docs/attention.md): Kiln's generated fp16 attention kernel at the shapes of
 * issue 7, beside PyTorch's SDPA flash backend timed the same way by bench/harness/attention_torch.py.
 * Every kernel is checked before it is timed: its output buffer is poisoned (0xff bytes: NaN in f16), the
 * inputs are random, and the result must match the exact SIMT kernel everywhere and a double-precision host
 * computation on sampled rows. Times are CUDA-event medians of single launches after warm-up; "batched" is
 * the median per launch of a CUDA graph of back-to-back launches (no launch gaps: what a short kernel costs
 * inside Kiln's one-graph model run).
 * TFLOP/s counts 4*B*H*S*L*D, half of it when causal.
 * <p>Usage: {@code AttentionBench [--out DIR] [--torch FILE] [--sweep] [--configs m128w4n64q,...]
 * [--shapes B,H,S,D[,causal];...] [--no-simt]}. {@code --sweep} also times every tile config that fits
 * ({@link FlashConfig#candidates}); {@code --configs} tiles that do not fit a shape's head size are listed as
 * skipped; {@code --no-simt} checks against the host rows only (faster).
 */
public final class AttentionBench {
    private AttentionBench() {}

    record Shape(int b, int h, int s, int d, boolean causal) {
        String key() { return "b" + b + "h" + h + "s" + s + "d" + d + (causal ? "_causal" : ""); }
        String label() { return "B" + b + " H" + h + " S" + s + " D" + d + (causal ? " causal" : ""); }
        double flops() { return 4.0 * b * h * s * (double) s * d / (causal ? 2 : 1); }
        long elements() { return (long) b * h * s * d; }
    }

    static final List<Shape> DEFAULT = List.of(
            new Shape(8, 16, 1024, 64, false), new Shape(8, 16, 1024, 64, true),
            new Shape(1, 32, 8192, 128, false), new Shape(1, 32, 8192, 128, true),
            new Shape(1, 12, 128, 64, false), new Shape(1, 16, 145, 64, false));

    /** Absolute tolerance on outputs of magnitude <= 1 (f16 rounding of P and of the output). */
    static final double TOLERANCE = 4e-3;

    record Row(Shape shape, String config, boolean chosen, double ms, double msBatched, double tflops, double maxErr, boolean ok) {}

    public static void main(String[] args) throws Exception {
        Path out = null, torchFile = null;
        boolean sweep = false, simt = true;
        List<String> configs = new ArrayList<>();
        List<Shape> shapes = DEFAULT;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--out" -> out = Path.of(args[++i]);
                case "--torch" -> torchFile = Path.of(args[++i]);
                case "--sweep" -> sweep = true;
                case "--no-simt" -> simt = false;
                case "--configs" -> configs.addAll(List.of(args[++i].split(",")));
                case "--shapes" -> shapes = parseShapes(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (!Cuda.available()) {
            System.out.println(Doctor.report());
            System.exit(2);
        }
        Map<String, Double> torch = TorchFigures.read(torchFile);
        List<Row> rows = new ArrayList<>();
        try (Context ctx = Context.open(0); Stream stream = ctx.createStream()) {
            System.out.println("Kiln attention bench, " + LocalDate.now() + ", " + ctx.device().label() + ", "
                    + ctx.device().multiprocessors() + " SMs, " + NvrtcCompiler.standard().version());
            KernelCache cache = new KernelCache(Files.createTempDirectory("kiln-attn-bench"), NvrtcCompiler.standard());
            CodegenOptions options = new CodegenOptions(false, ctx.device().arch());
            for (Shape sh : shapes) rows.addAll(runShape(ctx, stream, cache, options, sh, sweep, configs, simt));
        }
        print(rows, torch);
        if (out != null) write(out, rows, torch);
        if (rows.stream().anyMatch(r -> !r.ok())) {
            System.out.println("FAILED: some kernel did not match the reference");
            System.exit(1);
        }
    }

    static List<Shape> parseShapes(String text) {
        List<Shape> r = new ArrayList<>();
        for (String s : text.split(";")) {
            String[] p = s.trim().split(",");
            r.add(new Shape(Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2]), Integer.parseInt(p[3]),
                    p.length > 4 && !p[4].equals("0")));
        }
        return r;
    }

    /** A Fused attention node over f16 Q, K, V [B,H,S,D] (what codegen sees after fusion). */
    static Node node(Shape sh) {
        TensorType t = TensorType.of(DType.F16, new long[] {sh.b(), sh.h(), sh.s(), sh.d()});
        GraphBuilder g = new GraphBuilder("body");
        Value q = g.input("q", t), k = g.input("k", t), v = g.input("v", t);
        g.output(g.node("Attention", List.of(q, k, v), sh.causal() ? Map.of("is_causal", Attr.of(1L)) : Map.of(), null, "attn").get(0));
        Graph body = g.build();
        List<Value> ins = List.of(new Value("Q", t), new Value("K", t), new Value("V", t)), outs = List.of(new Value("Y", t));
        return Node.of("Fused", ins, outs, Map.of("kind", Attr.of("attention"), "body", new Attr.GraphValue(body)), "attn");
    }

    private static List<Row> runShape(Context ctx, Stream stream, KernelCache cache, CodegenOptions options, Shape sh,
                                      boolean sweep, List<String> extra, boolean simt) {
        System.out.println("\n" + sh.label());
        Node node = node(sh);
        long n = sh.elements(), bytes = 2 * n;
        Random r = new Random(42);
        short[][] host = new short[3][];
        for (int i = 0; i < 3; i++) host[i] = randomHalves(n, r, i == 2 ? 1 : 2); // Q, K in [-2, 2]; V in [-1, 1]
        List<Row> rows = new ArrayList<>();
        try (DeviceBuffer q = ctx.allocate(bytes); DeviceBuffer k = ctx.allocate(bytes); DeviceBuffer v = ctx.allocate(bytes);
             DeviceBuffer y = ctx.allocate(bytes); Event a = ctx.createEvent(); Event b = ctx.createEvent()) {
            q.upload(toBytes(host[0]));
            k.upload(toBytes(host[1]));
            v.upload(toBytes(host[2]));
            float[] ref = null;
            if (simt) {
                KernelSpec spec = AttentionTemplate.emit(node, new CodegenContext(options), null);
                try (CudaModule m = load(ctx, cache, spec)) {
                    ref = launchOnce(m.kernel(spec.entry()), stream, spec, q, k, v, y, n);
                }
                System.out.printf("  SIMT reference: host rows max error %.3g%n", hostCheck(sh, host, ref));
            }
            FlashConfig chosen = AttentionTemplate.chosenConfig(node, new CodegenContext(options));
            Set<FlashConfig> todo = new LinkedHashSet<>();
            todo.add(chosen);
            for (String c : extra) todo.add(FlashConfig.parse(c));
            if (sweep) todo.addAll(FlashConfig.candidates(sh.d(), sh.d()));
            for (FlashConfig c : todo) {
                if (!c.fits(sh.d(), sh.d())) {
                    System.out.printf("  %-12s   skipped: does not fit head size %d%n", c, sh.d());
                    continue;
                }
                KernelSpec spec;
                CudaModule m;
                try {
                    spec = AttentionTemplate.emit(node, new CodegenContext(options), c);
                    m = load(ctx, cache, spec);
                } catch (RuntimeException e) { // e.g. a wgmma tile off Hopper, or a compile error: report it, time the rest
                    System.out.printf("  %-12s   failed: %s%n", c, e.getMessage() == null ? e : e.getMessage().lines().findFirst().orElse(""));
                    continue;
                }
                try (m) {
                Kernel kernel = m.kernel(spec.entry());
                float[] got = launchOnce(kernel, stream, spec, q, k, v, y, n);
                double hostErr = hostCheck(sh, host, got), maxErr = hostErr;
                long nan = 0; // unwritten elements keep the poison (NaN)
                for (int i = 0; i < got.length; i++) {
                    if (Float.isNaN(got[i])) nan++;
                    else if (ref != null) maxErr = Math.max(maxErr, Math.abs(got[i] - ref[i]));
                }
                boolean ok = nan == 0 && maxErr <= TOLERANCE;
                double[] t = time(kernel, stream, spec, q, k, v, y, a, b);
                Row row = new Row(sh, c.toString(), c.equals(chosen), t[0], t[1], sh.flops() / (t[0] * 1e-3) / 1e12, maxErr, ok);
                rows.add(row);
                System.out.printf(Locale.ROOT, "  %-12s %s %9.4f ms (batched %9.4f) %7.1f TFLOP/s  max err %.3g%s%s%n", c,
                        c.equals(chosen) ? "*" : " ", t[0], t[1], row.tflops(), maxErr, nan > 0 ? "  NaN x " + nan : "", ok ? "" : "  MISMATCH");
                }
            }
        }
        return rows;
    }

    /** Compiles the kernel; opts in to its dynamic shared memory past 48 KB. */
    private static CudaModule load(Context ctx, KernelCache cache, KernelSpec spec) {
        CudaModule m = cache.load(ctx, spec.source(), spec.entry() + ".cu", CompileFlags.standard());
        if (spec.sharedBytes() > 48 * 1024) m.kernel(spec.entry()).setMaxDynamicSharedBytes(spec.sharedBytes());
        return m;
    }

    private static void launch(Kernel k, KernelSpec spec, Stream stream, KernelArgs args) {
        KernelSpec.Dim3 g = spec.grid(), bl = spec.block();
        k.launch(stream, new Dim3(g.x(), g.y(), g.z()), new Dim3(bl.x(), bl.y(), bl.z()), spec.sharedBytes(), args);
    }

    /** Poisons Y, runs the kernel once, returns Y as floats. */
    private static float[] launchOnce(Kernel kernel, Stream stream, KernelSpec spec,
                                      DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer y, long n) {
        y.fillAsync((byte) 0xff, stream);
        launch(kernel, spec, stream, new KernelArgs(4).pointer(q).pointer(k).pointer(v).pointer(y));
        stream.synchronize();
        byte[] raw = y.downloadBytes((int) (2 * n));
        ByteBuffer bb = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        float[] f = new float[(int) n];
        for (int i = 0; i < f.length; i++) f[i] = Float.float16ToFloat(bb.getShort());
        return f;
    }

    /** {median single-launch ms, median batched ms per launch}, after warm-up; repetitions scale with the kernel's time. */
    private static double[] time(Kernel kernel, Stream stream, KernelSpec spec,
                                 DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer y, Event a, Event b) {
        KernelArgs args = new KernelArgs(4).pointer(q).pointer(k).pointer(v).pointer(y);
        for (int i = 0; i < 5; i++) launch(kernel, spec, stream, args);
        a.record(stream);
        launch(kernel, spec, stream, args);
        b.record(stream);
        double first = b.elapsedMillis(a);
        int reps = (int) Math.max(20, Math.min(300, 300 / Math.max(first, 1e-3)));
        double[] single = new double[reps];
        for (int i = 0; i < reps; i++) {
            a.record(stream);
            launch(kernel, spec, stream, args);
            b.record(stream);
            single[i] = b.elapsedMillis(a);
        }
        // batched: a CUDA graph of back-to-back launches (as Kiln runs a model), so launch gaps do not count
        int group = (int) Math.max(1, Math.min(50, 2 / Math.max(first, 1e-3)));
        double[] batched = new double[7];
        stream.beginCapture();
        for (int j = 0; j < group; j++) launch(kernel, spec, stream, args);
        try (dev.kiln.runtime.Graph g = stream.endCapture(); GraphExec exec = g.instantiate()) {
            exec.launch(stream);
            for (int i = 0; i < batched.length; i++) {
                a.record(stream);
                exec.launch(stream);
                b.record(stream);
                batched[i] = b.elapsedMillis(a) / group;
            }
        }
        return new double[] {Stats.median(single), Stats.median(batched)};
    }

    /** Max error of {@code got} against a double computation of 8 sampled rows (the first, the last, 6 random). */
    static double hostCheck(Shape sh, short[][] host, float[] got) {
        Random r = new Random(7);
        int s = sh.s(), d = sh.d();
        double scale = 1 / Math.sqrt(d), worst = 0;
        for (int t = 0; t < 8; t++) {
            int bi = t == 0 ? 0 : t == 1 ? sh.b() - 1 : r.nextInt(sh.b());
            int hi = t == 0 ? 0 : t == 1 ? sh.h() - 1 : r.nextInt(sh.h());
            int qi = t == 0 ? 0 : t == 1 ? s - 1 : r.nextInt(s);
            long base = ((long) bi * sh.h() + hi) * s;
            int keys = sh.causal() ? qi + 1 : s;
            double[] p = new double[keys];
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < keys; j++) {
                double dot = 0;
                for (int e = 0; e < d; e++) dot += h2d(host[0][(int) ((base + qi) * d + e)]) * h2d(host[1][(int) ((base + j) * d + e)]);
                p[j] = dot * scale;
                max = Math.max(max, p[j]);
            }
            for (int j = 0; j < keys; j++) { p[j] = Math.exp(p[j] - max); sum += p[j]; }
            for (int e = 0; e < d; e++) {
                double acc = 0;
                for (int j = 0; j < keys; j++) acc += p[j] * h2d(host[2][(int) ((base + j) * d + e)]);
                float g = got[(int) ((base + qi) * d + e)];
                worst = Float.isNaN(g) ? Double.POSITIVE_INFINITY : Math.max(worst, Math.abs(acc / sum - g));
            }
        }
        return worst;
    }

    private static double h2d(short h) { return Float.float16ToFloat(h); }

    private static short[] randomHalves(long n, Random r, double span) {
        short[] x = new short[(int) n];
        for (int i = 0; i < x.length; i++) x[i] = Float.floatToFloat16((float) (span * (2 * r.nextDouble() - 1)));
        return x;
    }

    private static byte[] toBytes(short[] x) {
        ByteBuffer bb = ByteBuffer.allocate(2 * x.length).order(ByteOrder.LITTLE_ENDIAN);
        for (short s : x) bb.putShort(s);
        return bb.array();
    }

    /**
     * The chosen tile per shape beside SDPA: single-launch and graph-batched times, TFLOP/s, ratio (>= 1: Kiln as fast or
     * faster); then, when other tiles were timed, every tile's ratio, and the best tile per shape.
     */
    private static void print(List<Row> rows, Map<String, Double> torch) {
        System.out.printf("%n%-30s %-11s %9s %9s %9s %9s %8s %8s %s%n", "shape", "kiln tile", "kiln ms", "torch ms",
                "kiln bat", "torch bat", "kiln TF", "torch TF", "torch/kiln time (single, batched)");
        for (Row r : rows) {
            if (!r.chosen()) continue;
            Double tms = torch.get(r.shape().key() + "_ms"), tbat = torch.get(r.shape().key() + "_ms_batched");
            System.out.printf(Locale.ROOT, "%-30s %-11s %9.4f %9s %9.4f %9s %8.1f %8s %s%s%n", r.shape().label(), r.config(), r.ms(), fmt(tms),
                    r.msBatched(), fmt(tbat), r.tflops(), tms == null ? "-" : String.format(Locale.ROOT, "%.1f", r.shape().flops() / (tms * 1e-3) / 1e12),
                    tms == null ? "-" : String.format(Locale.ROOT, "%.2fx, %s", tms / r.ms(), tbat == null ? "-" : String.format(Locale.ROOT, "%.2fx", tbat / r.msBatched())),
                    r.ok() ? "" : "  MISMATCH");
        }
        // every tile timed (the chosen one, --configs, --sweep) against SDPA: which tile would meet the target
        if (rows.stream().anyMatch(r -> !r.chosen())) {
            System.out.printf("%n%-30s %-14s %9s %8s %s%n", "shape", "tile", "kiln ms", "kiln TF", "torch/kiln time (single, batched)");
            for (Row r : rows) {
                Double tms = torch.get(r.shape().key() + "_ms"), tbat = torch.get(r.shape().key() + "_ms_batched");
                System.out.printf(Locale.ROOT, "%-30s %-14s %9.4f %8.1f %s%s%n", r.shape().label(), r.config() + (r.chosen() ? "*" : ""), r.ms(), r.tflops(),
                        tms == null ? "-" : String.format(Locale.ROOT, "%.3fx, %s", tms / r.ms(), tbat == null ? "-" : String.format(Locale.ROOT, "%.3fx", tbat / r.msBatched())),
                        r.ok() ? "" : "  MISMATCH");
            }
        }
        for (Shape sh : rows.stream().map(Row::shape).distinct().toList()) {
            Row best = rows.stream().filter(r -> r.shape().equals(sh) && r.ok()).min((x, y) -> Double.compare(x.ms(), y.ms())).orElse(null);
            if (best != null && !best.chosen()) System.out.printf(Locale.ROOT, "best tile for %s: %s (%.4f ms)%n", sh.label(), best.config(), best.ms());
        }
    }

    private static String fmt(Double ms) { return ms == null ? "-" : String.format(Locale.ROOT, "%.4f", ms); }

    private static void write(Path dir, List<Row> rows, Map<String, Double> torch) throws java.io.IOException {
        Files.createDirectories(dir);
        StringBuilder j = new StringBuilder("{\n  \"date\": \"" + LocalDate.now() + "\",\n  \"results\": [\n");
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            Double tms = torch.get(r.shape().key() + "_ms");
            j.append(String.format(Locale.ROOT, "    {\"shape\": \"%s\", \"b\": %d, \"h\": %d, \"s\": %d, \"d\": %d, \"causal\": %b, \"config\": \"%s\", "
                            + "\"chosen\": %b, \"ms\": %.5f, \"ms_batched\": %.5f, \"tflops\": %.2f, \"max_err\": %.3g, \"ok\": %b%s}%s%n",
                    r.shape().key(), r.shape().b(), r.shape().h(), r.shape().s(), r.shape().d(), r.shape().causal(), r.config(), r.chosen(),
                    r.ms(), r.msBatched(), r.tflops(), r.maxErr(), r.ok(),
                    tms == null ? "" : String.format(Locale.ROOT, ", \"torch_ms\": %.5f", tms), i + 1 < rows.size() ? "," : ""));
        }
        j.append("  ]\n}\n");
        Files.writeString(dir.resolve("attention_bench.json"), j);
        System.out.println("wrote " + dir.resolve("attention_bench.json"));
    }
}
