package dev.kiln;

import dev.kiln.bundle.BundleReader;
import dev.kiln.bundle.PlanCache;
import dev.kiln.exec.ModelCompiler;
import dev.kiln.frontend.OnnxImporter;
import dev.kiln.ir.Graph;
import dev.kiln.runtime.Cuda;
import dev.kiln.runtime.Device;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import dev.kiln.ir.Tensor;

/**
 * Kiln's entry point: compile an ONNX model (file or bytes) or a {@link dev.kiln.ir.GraphBuilder} graph into a
 * {@link CompiledModel}, or load one saved as a bundle. See docs/api.md.
 */
public final class Kiln {
    /** The Kiln version written into bundles. */
    public static final String VERSION = "0.1.0-SNAPSHOT";

    private Kiln() {}

    /**
     * Compiles an ONNX file; through the plan cache ({@link PlanCache}) unless {@code options} turn it off: a hit skips
     * import, passes and codegen (its report says so), a miss stores the plan on a background thread (the CLI waits for
     * it before exiting; see {@link PlanCache#awaitWrites}).
     */
    public static CompiledModel compile(Path model, CompileOptions options) {
        return PlanCache.applies(options) ? compile(model, options, PlanCache.standard()) : compileFile(model, options);
    }

    /** {@link #compile(Path, CompileOptions)} through the given plan cache. */
    public static CompiledModel compile(Path model, CompileOptions options, PlanCache cache) {
        long t0 = System.nanoTime();
        String arch = targetArch(options);
        String key;
        try {
            key = PlanCache.key(model, options, arch);
        } catch (java.io.IOException | RuntimeException e) {
            return compileFile(model, options); // unreadable model: the importer says why
        }
        java.util.Optional<CompiledModel> hit = cache.get(key);
        if (hit.isPresent()) {
            CompiledModel m = hit.get();
            return new CompiledModel(m.name(), m.inputs(), m.outputs(), m::graph, m.plan(), m.report().asPlanCacheHit((System.nanoTime() - t0) / 1e6),
                    m.arch(), m.prebuilt());
        }
        CompiledModel m = compileFile(model, options);
        PlanCache.putLater(cache, key, m);
        return m;
    }

    private static CompiledModel compileFile(Path model, CompileOptions options) {
        long t0 = System.nanoTime();
        Graph g = new OnnxImporter().importModel(model).graph();
        return compile(g, options, Map.of(), (System.nanoTime() - t0) / 1e6);
    }

    public static CompiledModel compile(byte[] model, String name, CompileOptions options) {
        long t0 = System.nanoTime();
        Graph g = new OnnxImporter().importModel(model, name, null).graph();
        return compile(g, options, Map.of(), (System.nanoTime() - t0) / 1e6);
    }

    /** JIT from an IR graph; its input shapes must be static. */
    public static CompiledModel compile(Graph graph, CompileOptions options) { return compile(graph, options, Map.of()); }

    /**
     * JIT from an IR graph, specialized on the values of some inputs: each input named in {@code boundInputs}
     * becomes a constant (so shapes computed from it, as with ConstantOfShape, Expand or Pad, are static) and
     * is no longer an input of the compiled model. {@link dev.kiln.exec.ShapeInputs#select} picks the integer
     * inputs that determine shapes.
     */
    public static CompiledModel compile(Graph graph, CompileOptions options, Map<String, Tensor> boundInputs) {
        return compile(graph, options, boundInputs, 0);
    }

    private static CompiledModel compile(Graph graph, CompileOptions options, Map<String, Tensor> boundInputs, double importMillis) {
        String arch = targetArch(options);
        ModelCompiler.Result r;
        if (options.tune() != CompileOptions.Tune.NONE && Cuda.available() && arch.equals(Device.get(deviceOrdinal()).arch())) {
            try (dev.kiln.runtime.Context ctx = dev.kiln.runtime.Context.open(deviceOrdinal());
                 dev.kiln.exec.GpuTimer timer = new dev.kiln.exec.GpuTimer(ctx, dev.kiln.runtime.KernelCache.standard())) {
                r = ModelCompiler.compile(graph, options, arch, boundInputs, timer);
            }
        } else {
            r = ModelCompiler.compile(graph, options, arch, boundInputs, null); // the templates' heuristics
        }
        return new CompiledModel(r.graph(), r.plan(), r.report().withImportMillis(importMillis), arch, List.of(), r.launchNodes());
    }

    /** Loads a bundle written by {@link CompiledModel#save}; every entry is verified before anything runs. */
    public static CompiledModel load(Path bundle) { return BundleReader.read(bundle).model(); }

    /** The GPU that runs compiled models and times tuning candidates: system property kiln.device, default 0. */
    static int deviceOrdinal() { return Integer.getInteger("kiln.device", 0); }

    /** The option's arch, else this machine's GPU's, else sm_90. */
    public static String targetArch(CompileOptions options) {
        if (options.arch() != null) return options.arch();
        return Cuda.available() ? Device.get(0).arch() : "sm_90";
    }
}
