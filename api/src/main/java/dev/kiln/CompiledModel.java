package dev.kiln;

import dev.kiln.bundle.BundleWriter;
import dev.kiln.exec.LaunchNodes;
import dev.kiln.exec.PlanBuilder;
import dev.kiln.profile.Profile;
import dev.kiln.profile.ProfileOptions;
import dev.kiln.profile.Profiler;
import dev.kiln.ir.EvaluationException;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.Value;
import dev.kiln.ir.ref.Interpreter;
import dev.kiln.runtime.Context;
import dev.kiln.runtime.DeviceBuffer;
import dev.kiln.runtime.KernelCache;
import dev.kiln.runtime.Progress;
import dev.kiln.runtime.plan.ExecutionPlan;
import dev.kiln.runtime.plan.KernelBinary;
import dev.kiln.runtime.plan.PlanExecutor;
import dev.kiln.runtime.plan.WeightUpload;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A compiled model: its final IR, the {@link ExecutionPlan} and, once {@link #run} is first called, a
 * {@link PlanExecutor} on GPU 0 (kernels loaded, memory allocated, one CUDA graph captured).
 *
 * <p>Thread-safety: all methods may be called from any thread; GPU runs are serialised (one at a time per
 * model, since they share one arena). {@link #runReference} runs concurrently. Close it to free the GPU memory.
 */
public final class CompiledModel implements AutoCloseable {
    private final String name;
    private final List<Value> inputs, outputs;
    private final java.util.function.Supplier<Graph> graphSource;
    private Graph graph;
    private final ExecutionPlan plan;
    private final CompileReport report;
    private final String arch;
    private final List<KernelBinary> prebuilt;
    private List<String> launchNodes;
    private Context context;
    /** The weights' upload begun during the compile (on {@link #context}), until the load takes it; else null. */
    private WeightUpload preloaded;
    private PlanExecutor executor;
    private boolean closed;

    /** A model whose launch nodes are derived when asked; {@code prebuilt} may be empty (compile every kernel on load). */
    public CompiledModel(Graph graph, ExecutionPlan plan, CompileReport report, String arch, List<KernelBinary> prebuilt) {
        this(graph, plan, report, arch, prebuilt, null);
    }

    /** For the compiler: {@code launchNodes} as {@link #launchNodes()} returns them, or null to derive them when asked. */
    public CompiledModel(Graph graph, ExecutionPlan plan, CompileReport report, String arch, List<KernelBinary> prebuilt,
                         List<String> launchNodes) {
        this(graph.name(), graph.inputs().castToList(), graph.outputs().castToList(), () -> graph, plan, report, arch, prebuilt, launchNodes);
        this.graph = graph;
    }

    /**
     * For the bundle reader: the final IR is made by {@code graph} when first asked for (it serves the reference
     * interpreter and the profiler; running on the GPU needs only the plan and the inputs' and outputs' types).
     */
    public CompiledModel(String name, List<Value> inputs, List<Value> outputs, java.util.function.Supplier<Graph> graph, ExecutionPlan plan,
                         CompileReport report, String arch, List<KernelBinary> prebuilt) {
        this(name, inputs, outputs, graph, plan, report, arch, prebuilt, null);
    }

    private CompiledModel(String name, List<Value> inputs, List<Value> outputs, java.util.function.Supplier<Graph> graph, ExecutionPlan plan,
                          CompileReport report, String arch, List<KernelBinary> prebuilt, List<String> launchNodes) {
        this.name = name;
        this.inputs = List.copyOf(inputs);
        this.outputs = List.copyOf(outputs);
        this.graphSource = graph;
        this.plan = plan;
        this.report = report;
        this.arch = arch;
        this.prebuilt = List.copyOf(prebuilt);
        this.launchNodes = launchNodes == null ? null : List.copyOf(launchNodes);
        if (launchNodes != null && launchNodes.size() != plan.launches().size())
            throw new IllegalArgumentException(launchNodes.size() + " launch nodes for " + plan.launches().size() + " launches");
    }

    public String name() { return name; }
    /** The final IR the plan was made from (for a loaded bundle, made on first use). */
    public synchronized Graph graph() {
        if (graph == null) graph = graphSource.get();
        return graph;
    }
    /** The graph's inputs, in order: what {@link #run} takes. */
    public List<Value> inputs() { return inputs; }
    /** The graph's outputs, in order: what {@link #run} returns. */
    public List<Value> outputs() { return outputs; }
    public ExecutionPlan plan() { return plan; }
    public CompileReport report() { return report; }
    /** The GPU architecture the kernels were generated for. */
    public String arch() { return arch; }
    public List<KernelBinary> prebuilt() { return prebuilt; }

    /**
     * The node of {@link #graph()} that made each launch of the plan, named by its first output ("" for a
     * launch no node made); derived by running codegen again for a loaded bundle (see {@link LaunchNodes}).
     */
    public synchronized List<String> launchNodes() {
        if (launchNodes == null) launchNodes = LaunchNodes.derive(graph(), plan, arch);
        return launchNodes;
    }

    /**
     * Times every launch of the plan on the GPU on its own, with its FLOPs, bytes and share of this GPU's
     * roofline (see {@link Profile}). Runs the whole graph first (on {@code options}' inputs, else random ones)
     * so the arena holds real data. Throws {@code CudaUnavailableException} without a GPU.
     */
    public Profile profile(ProfileOptions options) { return Profiler.profile(this, options); }

    /** Runs on the GPU: host tensors in (graph input order, exact dtypes and shapes), host tensors out. */
    public List<Tensor> run(List<Tensor> inputs) {
        check(inputs);
        List<byte[]> bytes = new ArrayList<>(inputs.size());
        for (Tensor t : inputs) bytes.add(t.storage());
        List<byte[]> out = executor().run(bytes);
        List<Tensor> result = new ArrayList<>(out.size());
        for (int i = 0; i < out.size(); i++) {
            Value v = outputs.get(i);
            result.add(Tensor.adopt(v.dtype(), v.shape().sizes(), out.get(i))); // a fresh array each run: no second copy
        }
        return result;
    }

    public List<Tensor> run(Tensor... inputs) { return run(List.of(inputs)); }

    /**
     * Runs on device tensors: {@code inputs} hold each input's little-endian storage (graph input order) and
     * {@code outputs} receive each output's, all on this model's GPU ({@link #allocateInput}/{@link
     * #allocateOutput} make buffers of the right size there). Nothing is copied to or from the host.
     */
    public void runOnDevice(List<DeviceBuffer> inputs, List<DeviceBuffer> outputs) { executor().run(inputs, outputs); }

    /** A device buffer on this model's GPU sized for input i. */
    public DeviceBuffer allocateInput(int i) { return executor().context().allocate(Math.max(1, plan.inputs().get(i).bytes())); }

    /** A device buffer on this model's GPU sized for output i. */
    public DeviceBuffer allocateOutput(int i) { return executor().context().allocate(Math.max(1, plan.outputs().get(i).bytes())); }

    /** Runs the final IR on the CPU reference interpreter: the oracle {@link #run} is compared with. */
    public List<Tensor> runReference(List<Tensor> inputs) { return Interpreter.run(graph(), inputs); }

    private void check(List<Tensor> inputs) {
        if (inputs.size() != this.inputs.size())
            throw new EvaluationException("model " + name() + " takes " + this.inputs.size() + " inputs, got " + inputs.size());
        for (int i = 0; i < inputs.size(); i++) {
            Value v = this.inputs.get(i);
            Tensor t = inputs.get(i);
            if (t.dtype() != v.dtype() || !Arrays.equals(t.shape(), v.shape().sizes()))
                throw new EvaluationException("input %" + v.name() + " of model " + name() + " is " + v.type() + ", got " + t.type());
            if (PlanBuilder.hostBytes(v) != plan.inputs().get(i).bytes())
                throw new IllegalStateException("plan and graph disagree on input %" + v.name());
        }
    }

    /**
     * The executor on the GPU named by the system property {@code kiln.device} (default 0; {@code kiln run
     * --device N}), made on first use. Throws {@code CudaUnavailableException} without a GPU.
     */
    public synchronized PlanExecutor executor() { return load(Progress.NONE); }

    /**
     * {@link #executor()}, reporting the NVRTC step to {@code progress} when this call is the one that loads
     * the model: kernels compiled in parallel (or taken from the kernel cache or the bundle), memory
     * allocated, weights uploaded.
     */
    public synchronized PlanExecutor load(Progress progress) {
        if (closed) throw new IllegalStateException("model " + name() + " is closed");
        if (executor == null) {
            if (context == null) context = Context.open(Integer.getInteger("kiln.device", 0));
            try {
                executor = PlanExecutor.open(plan, context, KernelCache.standard(), prebuilt, progress, preloaded);
            } catch (RuntimeException e) {
                if (preloaded != null) preloaded.close();
                context.close();
                context = null;
                throw e;
            } finally {
                preloaded = null; // taken by the executor, or freed
            }
        }
        return executor;
    }

    /**
     * For the compiler: the context the model was tuned on and the upload of its weights begun there (or null),
     * which the load uses instead of opening a context and uploading again; this model closes them.
     */
    synchronized void preloaded(Context ctx, WeightUpload upload) {
        if (executor != null || context != null) throw new IllegalStateException("model " + name() + " is loaded already");
        context = ctx;
        preloaded = upload;
    }

    /** The time split so far: the compile side, and the GPU side once the model was loaded. */
    public synchronized Timings timings() {
        return executor == null ? report.timings() : report.timings().withLoad(executor.loadTimes());
    }

    /** How each kernel was loaded (CUBIN without compiling, PTX JIT, or NVRTC); empty before the first run. */
    public synchronized List<KernelBinary.LoadMode> loadModes() { return executor == null ? List.of() : executor.loadModes(); }

    /** Writes an AOT bundle (see docs/bundle.md), atomically. */
    public void save(Path file) { BundleWriter.write(this, file, BundleWriter.Binaries.AUTO); }

    @Override public synchronized void close() {
        if (closed) return;
        closed = true;
        if (preloaded != null) preloaded.close();
        if (executor != null) executor.close();
        if (context != null) context.close();
    }

    @Override public String toString() { return "CompiledModel " + name() + " (" + report.kernelSummary() + ", " + arch + ")"; }
}
