package dev.kiln.bench;

import dev.kiln.CompileOptions;
import dev.kiln.CompiledModel;
import dev.kiln.Kiln;
import dev.kiln.Timings;
import dev.kiln.bundle.BundleReader;
import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.Value;
import dev.kiln.runtime.Context;
import dev.kiln.runtime.Cuda;
import dev.kiln.runtime.Doctor;
import dev.kiln.runtime.KernelCache;
import dev.kiln.runtime.Progress;
import dev.kiln.runtime.plan.PlanExecutor;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Wall time from a model file to its first output, split into phases (docs/performance.md, Cold start).
 * Usage: {@code ColdStartBench [--dtype fp16] [--cache DIR] [--save-bundles DIR] MODEL...}, MODEL being an
 * .onnx file, a .kiln bundle or a synthetic model ({@link SyntheticModels}: bert-base, vit-l32-384), whose
 * ONNX file is written before the clock starts. {@code --cache DIR} sets the kernel cache folder (empty it
 * for a cold run; run again for a warm one); {@code --save-bundles DIR} writes each compiled model as a bundle
 * afterwards (untimed) for a later bundle run. Phases: import, passes, codegen (for a bundle: reading and
 * verifying it), ctx (CUDA initialisation and the context), NVRTC (until the last kernel is compiled or
 * found in the cache; the upload runs meanwhile), tuning, load (modules), upload (memory and weights), first
 * run (graph capture and the first replay, results copied back), total (the clock from the model file to the
 * first output, this JVM already started).
 */
public final class ColdStartBench {
    private ColdStartBench() {}

    public static void main(String[] args) throws Exception {
        long jvmMillis = System.currentTimeMillis() - ManagementFactory.getRuntimeMXBean().getStartTime();
        CompileOptions options = CompileOptions.defaults();
        Path bundles = null;
        List<String> models = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--dtype" -> options = options.withPrecision(CompileOptions.Precision.parse(args[++i]));
                case "--cache" -> System.setProperty("kiln.cacheDir", args[++i]);
                case "--save-bundles" -> bundles = Path.of(args[++i]);
                default -> models.add(args[i]);
            }
        }
        if (!Cuda.available()) {
            System.out.println(Doctor.report().reason());
            System.exit(2);
        }
        if (models.isEmpty()) models = List.of("bert-base", "vit-l32-384");
        Path tmp = Files.createTempDirectory("kiln-cold-start");
        System.out.printf(Locale.ROOT, "Kiln cold start, %s, kernel cache %s, NVRTC pool of %d threads, JVM started %d ms before main%n",
                options.precision().text(), KernelCache.defaultDir(System.getenv()), dev.kiln.runtime.CompilePool.THREADS, jvmMillis);
        System.out.printf(Locale.ROOT, "%-16s %-22s %7s %7s %7s %6s %7s %6s %6s %7s %7s %8s  %s%n", "model", "launches/kernels",
                "import", "passes", "codegen", "ctx", "NVRTC", "tuning", "load", "upload", "1st run", "total", "NVRTC runs");
        for (String name : models) {
            Path file = SyntheticModels.known(name) ? SyntheticModels.write(name, tmp) : Path.of(name);
            long t0 = System.nanoTime();
            CompiledModel m = file.toString().endsWith(".kiln") ? BundleReader.read(file).model() : Kiln.compile(file, options.withPlanCache(false));
            double compiled = (System.nanoTime() - t0) / 1e6;
            long tc = System.nanoTime();
            try (Context ctx = Context.open(Integer.getInteger("kiln.device", 0)); m) {
                double ctxMillis = (System.nanoTime() - tc) / 1e6;
                PlanExecutor ex = m.load(Progress.NONE); // retains the same primary context: cheap now
                List<Tensor> in = inputs(m.graph());
                long tr = System.nanoTime();
                m.run(in);
                double firstRun = (System.nanoTime() - tr) / 1e6, total = (System.nanoTime() - t0) / 1e6;
                Timings t = m.timings();
                boolean bundle = file.toString().endsWith(".kiln");
                System.out.printf(Locale.ROOT, "%-16s %-22s %7.0f %7.0f %7.0f %6.0f %7.0f %6.0f %6.0f %7.0f %7.0f %8.0f  %d of %d%n",
                        name.length() > 16 ? name.substring(name.length() - 16) : name,
                        m.plan().launches().size() + "/" + m.plan().kernels().size(),
                        bundle ? compiled : t.importMillis(), t.passesMillis(), t.codegenMillis(), ctxMillis, t.nvrtcMillis(),
                        t.tuningMillis(), t.loadMillis(), t.uploadMillis(), firstRun, total, ex.loadTimes().nvrtcRuns(), ex.loadTimes().compiled());
                if (bundle) System.out.println("  (bundle: the import column is reading and verifying it; kernels from " + summarize(m) + ")");
                if (bundles != null && !bundle) {
                    Files.createDirectories(bundles);
                    Path out = bundles.resolve(file.getFileName().toString().replaceAll("\\.onnx$", "") + ".kiln");
                    m.save(out);
                    System.out.println("  wrote " + out);
                }
            }
            if (SyntheticModels.known(name)) Files.delete(file);
        }
    }

    private static String summarize(CompiledModel m) {
        StringBuilder b = new StringBuilder();
        for (var mode : dev.kiln.runtime.plan.KernelBinary.LoadMode.values()) {
            long n = m.loadModes().stream().filter(x -> x == mode).count();
            if (n > 0) b.append(b.isEmpty() ? "" : ", ").append(n).append(' ').append(mode);
        }
        return b.toString();
    }

    /** Random inputs of the model's types: floats in [-1, 1), integers in [0, 8) (valid token ids and mask values). */
    static List<Tensor> inputs(Graph g) {
        SplittableRandom r = new SplittableRandom(1);
        List<Tensor> out = new ArrayList<>();
        for (Value v : g.inputs()) {
            long[] shape = new long[v.shape().rank()];
            for (int i = 0; i < shape.length; i++) shape[i] = v.shape().dim(i) instanceof Dim.Static s ? s.size() : 1;
            int n = (int) Tensor.numel(shape);
            if (v.dtype().isFloat()) {
                double[] x = new double[n];
                for (int i = 0; i < n; i++) x[i] = r.nextDouble(-1, 1);
                out.add(Tensor.ofDoubles(v.dtype(), shape, x));
            } else if (v.dtype() == DType.BOOL) {
                boolean[] x = new boolean[n];
                for (int i = 0; i < n; i++) x[i] = r.nextBoolean();
                out.add(Tensor.ofBools(shape, x));
            } else {
                long[] x = new long[n];
                for (int i = 0; i < n; i++) x[i] = r.nextLong(0, 8);
                out.add(Tensor.ofLongs(v.dtype(), shape, x));
            }
        }
        return out;
    }
}
