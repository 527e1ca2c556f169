package dev.kiln.bench;

import dev.kiln.CompileOptions;
import dev.kiln.CompiledModel;
import dev.kiln.Kiln;
import dev.kiln.Timings;
import dev.kiln.bundle.BundleReader;
import dev.kiln.passes.PassManager;

import java.nio.file.Path;
import java.util.Comparator;
import java.util.Locale;

/**
 * The CPU side of {@code kiln run MODEL} in a fresh JVM, no GPU needed: the JVM start (process start to main),
 * then import, passes, codegen for an .onnx file (no tuning, as without a GPU), or reading and verifying a
 * .kiln bundle, and the wall time from the process start. Usage:
 * {@code ColdStartCpu [--dtype fp16] [--passes N] MODEL.onnx|BUNDLE.kiln}; {@code --passes N} also lists the N
 * slowest passes. Run it with the same JVM flags as the {@code kiln} launcher (bench/cold-start.sh does).
 */
public final class ColdStartCpu {
    private ColdStartCpu() {}

    public static void main(String[] args) {
        long mainNanos = System.nanoTime();
        long processStartMillis = ProcessHandle.current().info().startInstant().map(java.time.Instant::toEpochMilli).orElse(0L);
        double jvmMillis = System.currentTimeMillis() - processStartMillis - (System.nanoTime() - mainNanos) / 1e6;
        CompileOptions options = CompileOptions.defaults().withArch("sm_90");
        int slowest = 0;
        Path model = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--dtype" -> options = options.withPrecision(CompileOptions.Precision.parse(args[++i]));
                case "--passes" -> slowest = Integer.parseInt(args[++i]);
                default -> model = Path.of(args[i]);
            }
        }
        if (model == null) throw new IllegalArgumentException("usage: ColdStartCpu [--dtype fp16] [--passes N] MODEL.onnx|BUNDLE.kiln");
        long t0 = System.nanoTime();
        String split;
        if (model.toString().endsWith(".kiln")) {
            try (CompiledModel m = BundleReader.read(model).model()) {
                split = String.format(Locale.ROOT, "read+verify %.0f ms (%d kernels)", (System.nanoTime() - t0) / 1e6, m.plan().kernels().size());
            }
        } else {
            try (CompiledModel m = Kiln.compile(model, options)) {
                Timings t = m.timings();
                split = (m.report().planCacheHit() ? "plan cache hit in " + m.report().compileMillis() + " ms, " : "") + t.compileText() + String.format(Locale.ROOT, " (%d launches of %d kernels)", m.plan().launches().size(), m.plan().kernels().size());
                if (slowest > 0)
                    m.report().passes().stream().sorted(Comparator.comparingLong(PassManager.Record::micros).reversed()).limit(slowest)
                            .forEach(p -> System.out.printf(Locale.ROOT, "  %-24s %7.1f ms%n", p.pass(), p.micros() / 1e3));
            }
        }
        double inMain = (System.nanoTime() - t0) / 1e6;
        System.out.printf(Locale.ROOT, "%s: JVM start %.0f ms, %s; in main %.0f ms, from process start %d ms%n", model.getFileName(),
                jvmMillis, split, inMain, System.currentTimeMillis() - processStartMillis);
    }
}
