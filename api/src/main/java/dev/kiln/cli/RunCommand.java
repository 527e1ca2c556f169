package dev.kiln.cli;

import dev.kiln.CompileOptions;
import dev.kiln.CompiledModel;
import dev.kiln.Kiln;
import dev.kiln.bundle.BundleReader;
import dev.kiln.frontend.ImportedModel;
import dev.kiln.ir.UnsupportedException;
import dev.kiln.frontend.OnnxImporter;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.ref.Interpreter;
import dev.kiln.runtime.CudaUnavailableException;
import dev.kiln.runtime.Doctor;
import dev.kiln.runtime.TerminalProgress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code kiln run MODEL|BUNDLE}: runs an ONNX model (compiled just in time, or on the reference interpreter) or
 * an AOT bundle (loaded with no compilation), and prints a summary of each output and the timings.
 */
@Command(name = "run", description = "Run a model (.onnx) or a bundle (.kiln) on inputs from .pb files or random data; print outputs and timing.")
final class RunCommand implements Callable<Integer> {
    @Parameters(paramLabel = "MODEL", description = "a .onnx model or a .kiln bundle") Path model;

    @Option(names = "--runs", defaultValue = "1", description = "run this many times and report the median GPU time") int runs;

    @Option(names = "--inputs", paramLabel = "DIR", description = "folder with input_0.pb, input_1.pb, ... (default: random data)")
    Path inputs;

    @Option(names = "--backend", defaultValue = "auto", description = "gpu (compiled kernels), reference (CPU interpreter), or auto (gpu when one is usable, else reference)")
    String backend;

    @Option(names = "--dtype", defaultValue = "fp32", description = "fp32, fp16 or bf16, as for kiln compile (GPU backend; a bundle keeps its own)")
    String dtype;

    @Option(names = "--verify", description = "verify the IR after every pass; for a bundle, check every entry's SHA-256 (by default the weights are checked by their CRC-32)")
    boolean verify;

    @Option(names = "--dim", paramLabel = "NAME=SIZE", description = "size of a symbolic input dim for random inputs")
    Map<String, Long> dims = new HashMap<>();

    @Option(names = "--seed", defaultValue = "0", description = "seed for random inputs") long seed;

    @Option(names = "--plan-cache", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "look the compiled plan up in the plan cache (keyed by the model's bytes, options, Kiln build and GPU) and store it there after a miss (default; --no-plan-cache compiles from scratch)")
    boolean planCache;

    @Option(names = "--device", defaultValue = "0", description = "which GPU to run on (CUDA device index)") int device;

    private final GpuStart gpu;
    private double doctorMillis; // how long the GPU check held up the run (0 for bundles)

    RunCommand(GpuStart gpu) { this.gpu = gpu; }

    @Override public Integer call() {
        System.setProperty("kiln.device", Integer.toString(device));
        CompileOptions.Precision precision = CompileOptions.Precision.parse(dtype);
        gpu.mark("command");
        if (model.toString().endsWith(".kiln")) return runBundle();
        CompileOptions o = CompileOptions.defaults().withPrecision(precision).withProgress(true);
        if (verify) o = o.withVerifyEach(true);
        if (!planCache) o = o.withPlanCache(false);
        boolean mayUseGpu = backend.equals("auto") || backend.equals("gpu");
        // the plan cache lookup (hashing the model, reading the entry) runs while the GPU check begun before the CLI
        // parsed finishes; where that check already failed (no driver: it fails at once) there is nothing to overlap
        long lookupStart = System.nanoTime();
        Kiln.PlanLookup lookup = mayUseGpu && !gpu.doctorFailed() ? Kiln.lookUp(model, o) : null;
        long doctorStart = System.nanoTime();
        Doctor.Report doctor = mayUseGpu ? gpu.doctor() : null;
        doctorMillis = (System.nanoTime() - doctorStart) / 1e6;
        if (backend.equals("auto")) {
            backend = doctor.ok() ? "gpu" : "reference";
            if (backend.equals("reference")) System.err.println(doctor.reason() + ": running on the reference backend");
        } else if (backend.equals("gpu") && !doctor.ok()) {
            if (lookup != null) lookup.close();
            System.err.println("kiln: error: " + doctor.reason());
            return 1;
        }
        if (!backend.equals("gpu") && lookup != null) lookup.close(); // a plan read for nothing
        if (backend.equals("reference")) return runReference();
        if (!backend.equals("gpu")) throw new UnsupportedException("unknown backend '" + backend + "' (known: gpu, reference)");
        // the first output's time counts from the lookup, less the wait for the GPU check (reported apart)
        long t0 = lookupStart + (long) (doctorMillis * 1e6);
        System.err.println("compiling " + model + " ...");
        // the GPU context and NVRTC come up on GpuStart's thread meanwhile
        try (CompiledModel c = lookup != null ? Kiln.compile(lookup) : Kiln.compile(model, o)) {
            System.out.println(c.report().headline());
            List<Tensor> in = inputs(c.inputs());
            c.load(TerminalProgress.stderr()); // retains the same primary context, already up
            return runCompiled(c, in, t0);
        }
    }

    private int runBundle() {
        long t0 = System.nanoTime();
        // the driver and the GPU context (a few hundred ms) came up on GpuStart's thread while the JVM started and the
        // bundle is read
        try {
            BundleReader.Bundle b = BundleReader.read(model, verify ? BundleReader.Verify.FULL : BundleReader.Verify.QUICK);
            double read = (System.nanoTime() - t0) / 1e6;
            gpu.mark("read");
            try (CompiledModel c = b.model()) {
                List<Tensor> in = inputs(c.inputs());
                gpu.mark("inputs");
                double waited = gpu.awaitContext(device);
                gpu.mark("context awaited");
                c.load(TerminalProgress.stderr()); // load kernels, allocate, upload weights (the same primary context)
                gpu.mark("loaded");
                System.out.printf("loaded bundle %s in %.1f ms (read %.0f ms, then waited %.0f ms for the GPU context) with no compilation of the model: kernels from %s%n",
                        model, (System.nanoTime() - t0) / 1e6, read, waited, Summary.loadModes(c.loadModes()));
                return runCompiled(c, in, t0);
            }
        } catch (CudaUnavailableException e) { // a bundle runs on a GPU only: say why in one line, as --backend gpu does
            System.err.println("kiln: error: " + gpu.doctor().reason());
            return 1;
        }
    }

    private int runCompiled(CompiledModel c, List<Tensor> in, long t0) {
        List<Tensor> out = c.run(in);
        gpu.mark("first output");
        double firstOutput = (System.nanoTime() - t0) / 1e6;
        double[] ms = new double[Math.max(1, runs)];
        ms[0] = c.executor().lastRunMillis();
        for (int i = 1; i < ms.length; i++) {
            c.run(in);
            ms[i] = c.executor().lastRunMillis();
        }
        for (int i = 0; i < out.size(); i++) System.out.println(Summary.tensor(c.outputs().get(i).name(), out.get(i)));
        System.out.printf("first output after %.0f ms: %s%n", firstOutput, c.timings());
        // the whole command's time, the JVM's start included, from the launcher's clock (see LaunchTime)
        System.out.println(LaunchTime.firstOutputLine(System.getenv(), java.time.Instant.now(), firstOutput, doctorMillis));
        String trace = Boolean.getBoolean("kiln.startTrace") ? gpu.trace() : null;
        if (trace != null) System.out.println(trace);
        java.util.Arrays.sort(ms);
        System.out.printf("ran %s on the GPU: %.3f ms (median of %d; one CUDA graph of %d launches)%n", c.name(), ms[ms.length / 2],
                ms.length, c.plan().launches().size());
        return 0;
    }

    private int runReference() {
        ImportedModel m = new OnnxImporter().importModel(model);
        Graph g = m.graph();
        List<Tensor> in = inputs(g);
        long t0 = System.nanoTime();
        List<Tensor> out = Interpreter.run(g, in);
        long us = (System.nanoTime() - t0) / 1000;
        for (int i = 0; i < out.size(); i++) System.out.println(Summary.tensor(g.outputs().get(i).name(), out.get(i)));
        System.out.printf("ran %s on the reference backend in %.3f ms%n", m.modelName(), us / 1000.0);
        return 0;
    }

    private List<Tensor> inputs(Graph g) { return inputs(g.inputs().castToList()); }

    private List<Tensor> inputs(List<dev.kiln.ir.Value> values) {
        return inputs != null ? Inputs.fromFolder(values, inputs) : Inputs.random(values, dims, seed);
    }
}
