package dev.kiln.bench;

import dev.kiln.CompileOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.exec.Autotune;
import dev.kiln.exec.ModelCompiler;
import dev.kiln.frontend.OnnxImporter;
import dev.kiln.ir.Graph;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What the autotune stage would compile for a model, without a GPU: runs the compile path with a timer that
 * only records, then prints one line per problem (its key and candidates) and writes every distinct candidate
 * source the stage compiles to {@code OUT/NNN-name.cu}, and the plan's kernels it did not compile to {@code OUT/plan/}
 * (what the load's NVRTC still compiles; all of them in {@code OUT/plan-all/}), for timing a CPU-side compile of each (bench/tune-compile-times.sh). Usage:
 * {@code TuneCandidates [--dtype fp16] [--tune fast|full] MODEL.onnx|SYNTHETIC OUT}. Set KILN_CACHE_DIR to an
 * empty folder, or the tuning cache answers problems from earlier runs.
 */
public final class TuneCandidates {
    private TuneCandidates() {}

    /** Records what it is asked to compile and time; every candidate "takes" 1 us. */
    static final class Recorder implements Autotune.Timer {
        final List<KernelSpec> prepared = new ArrayList<>();
        @Override public String gpu() { return "CPU-recorder,sm_90,driver0"; }
        @Override public void prepare(List<KernelSpec> specs) { prepared.addAll(specs); }
        @Override public double micros(List<KernelSpec> specs, Graph graph) { return 1; }
        @Override public void close() {}
    }

    public static void main(String[] args) throws IOException {
        CompileOptions options = CompileOptions.defaults().withArch("sm_90").withTune(CompileOptions.Tune.FAST);
        List<String> rest = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--dtype" -> options = options.withPrecision(CompileOptions.Precision.parse(args[++i]));
                case "--tune" -> options = options.withTune(CompileOptions.Tune.parse(args[++i]));
                default -> rest.add(args[i]);
            }
        }
        if (rest.size() != 2) throw new IllegalArgumentException("usage: TuneCandidates [--dtype fp16] [--tune fast|full] MODEL.onnx|SYNTHETIC OUT");
        Path out = Files.createDirectories(Path.of(rest.get(1)));
        Path model = SyntheticModels.known(rest.get(0)) ? SyntheticModels.write(rest.get(0), Files.createTempDirectory("kiln-tune")) : Path.of(rest.get(0));
        Graph g = new OnnxImporter().importModel(model).graph();
        Recorder r = new Recorder();
        ModelCompiler.Result result = ModelCompiler.compile(g, options, "sm_90", Map.of(), r);
        var tuning = result.report().tuning();
        System.out.println(tuning.summary());
        tuning.lines().forEach(l -> System.out.println("  " + l));
        Map<String, KernelSpec> distinct = new LinkedHashMap<>();
        for (KernelSpec k : r.prepared) distinct.putIfAbsent(k.source(), k);
        int i = 0;
        for (KernelSpec k : distinct.values()) Files.writeString(out.resolve(String.format(Locale.ROOT, "%03d-%s.cu", i++, k.name())), k.source());
        Path plan = Files.createDirectories(out.resolve("plan")), all = Files.createDirectories(out.resolve("plan-all"));
        int hits = 0;
        for (var k : result.plan().kernels()) {
            Files.writeString(all.resolve(k.name() + ".cu"), k.source());
            if (distinct.containsKey(k.source())) hits++;
            else Files.writeString(plan.resolve(k.name() + ".cu"), k.source());
        }
        System.out.printf(Locale.ROOT, "%d kernels prepared, %d distinct sources; %d kernels in the plan, %d of them compiled already (the rest in %s)%n",
                r.prepared.size(), distinct.size(), result.plan().kernels().size(), hits, plan);
        if (SyntheticModels.known(rest.get(0))) Files.delete(model);
    }
}
