package dev.kiln;

import dev.kiln.bundle.BundleReader;
import dev.kiln.bundle.PlanCache;
import dev.kiln.exec.GpuTimer;
import dev.kiln.exec.ModelCompiler;
import dev.kiln.frontend.OnnxImporter;
import dev.kiln.ir.Graph;
import dev.kiln.runtime.Context;
import dev.kiln.runtime.Cuda;
import dev.kiln.runtime.Device;
import dev.kiln.runtime.KernelCache;
import dev.kiln.runtime.plan.WeightUpload;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import dev.kiln.ir.Tensor;

/**
 * Kiln's entry point: compile an ONNX model (file or bytes) or a {@link dev.kiln.ir.GraphBuilder} graph into a
 * {@link CompiledModel}, or load one saved as a bundle. See docs/api.md.
 *
 * <p>A compile that autotunes on this machine's GPU also uploads the model's weights there while it tunes (they are
 * fixed once the memory plan is), so the first run finds them in place; the compiled model holds them, and its GPU
 * context, until it is closed.
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
        return compile(lookUp(model, options, cache));
    }

    /**
     * The first half of {@link #compile(Path, CompileOptions)}: the plan cache's entry for {@code model}, if there is
     * one; {@link #compile(PlanLookup)} finishes (a hit costs nothing more, a miss compiles). The CLI runs it while
     * its GPU check finishes. Close a lookup that is not compiled.
     */
    public static PlanLookup lookUp(Path model, CompileOptions options) {
        return PlanCache.applies(options) ? lookUp(model, options, PlanCache.standard()) : new PlanLookup(model, options, null, null, null, 0);
    }

    private static PlanLookup lookUp(Path model, CompileOptions options, PlanCache cache) {
        long t0 = System.nanoTime();
        String key;
        try {
            key = PlanCache.key(model, options, () -> targetArch(options)); // hashes the model before asking CUDA for the arch
        } catch (java.io.IOException | RuntimeException e) {
            return new PlanLookup(model, options, null, null, null, t0); // unreadable model: the importer says why
        }
        return new PlanLookup(model, options, cache, key, cache.get(key).orElse(null), t0);
    }

    /** What {@link #lookUp} found: the cache and key ({@code null} without them) and the entry ({@code null} on a miss). */
    public record PlanLookup(Path model, CompileOptions options, PlanCache cache, String key, CompiledModel hit, long startNanos)
            implements AutoCloseable {
        @Override public void close() { if (hit != null) hit.close(); }
    }

    /** A hit as it is, else compiled (and stored in the plan cache on a background thread). */
    public static CompiledModel compile(PlanLookup l) {
        if (l.hit() != null) {
            CompiledModel m = l.hit();
            return new CompiledModel(m.name(), m.inputs(), m.outputs(), m::graph, m.plan(), m.report().asPlanCacheHit((System.nanoTime() - l.startNanos()) / 1e6),
                    m.arch(), m.prebuilt());
        }
        CompiledModel m = compileFile(l.model(), l.options());
        if (l.key() != null) PlanCache.putLater(l.cache(), l.key(), m);
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
        if (options.tune() == CompileOptions.Tune.NONE || !Cuda.available() || !arch.equals(Device.get(deviceOrdinal()).arch()))
            return model(ModelCompiler.compile(graph, options, arch, boundInputs, null), arch, importMillis); // the templates' heuristics
        // the weights go up on this context while autotuning and codegen run; the model keeps both for its load
        Context ctx = Context.open(deviceOrdinal());
        WeightUpload[] upload = {null};
        ModelCompiler.Result r;
        try (GpuTimer timer = new GpuTimer(ctx, KernelCache.standard())) {
            r = ModelCompiler.compile(graph, options, arch, boundInputs, timer, w -> upload[0] = WeightUpload.start(ctx, w));
        } catch (RuntimeException | Error e) {
            if (upload[0] != null) upload[0].close();
            ctx.close();
            throw e;
        }
        CompiledModel m = model(r, arch, importMillis);
        m.preloaded(ctx, upload[0]);
        return m;
    }

    private static CompiledModel model(ModelCompiler.Result r, String arch, double importMillis) {
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
