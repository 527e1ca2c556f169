package dev.kiln.runtime.plan;

import dev.kiln.runtime.Background;
import dev.kiln.runtime.CompilePool;
import dev.kiln.runtime.CompileRequest;
import dev.kiln.runtime.CompiledKernel;
import dev.kiln.runtime.Context;
import dev.kiln.runtime.CudaException;
import dev.kiln.runtime.CudaModule;
import dev.kiln.runtime.CudaUnavailableException;
import dev.kiln.runtime.DeviceBuffer;
import dev.kiln.runtime.Dim3;
import dev.kiln.runtime.Event;
import dev.kiln.runtime.GraphExec;
import dev.kiln.runtime.Kernel;
import dev.kiln.runtime.KernelArgs;
import dev.kiln.runtime.KernelCache;
import dev.kiln.runtime.PinnedBuffer;
import dev.kiln.runtime.Progress;
import dev.kiln.runtime.StagedUpload;
import dev.kiln.runtime.Stream;
import dev.kiln.runtime.TensorMap;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs an {@link ExecutionPlan} on one GPU. Construction does all the slow work once: loads every kernel
 * (prebuilt CUBIN, else PTX, else NVRTC through the kernel cache, compiled in parallel on the
 * {@link CompilePool}), allocates the arena and the weights block, uploads the weights through pinned staging
 * while NVRTC runs, and makes the pinned staging buffers. All context work stays on the constructing thread. The first {@link #run} captures every launch
 * as ONE CUDA graph; later runs replay it. A plan has fixed shapes, so one executor is one graph.
 *
 * <p>Inputs and outputs go through pinned host staging and small device buffers; copy kernels inside the
 * graph move them to and from their arena slots (the runtime's copies address whole buffers only).
 *
 * <p>Thread-safety: {@link #run} is {@code synchronized} (one run at a time per executor; the arena is
 * shared by all runs). For parallel inference, make one executor per thread or stream.
 */
public final class PlanExecutor implements AutoCloseable {
    /** Byte copy between device pointers; 16 bytes at a time when both ends and the size allow it. */
    static final String COPY_SOURCE = """
            extern "C" __global__ void kiln_copy(const unsigned char* src, unsigned char* dst, long long n) {
              long long stride = (long long)blockDim.x * gridDim.x;
              long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
              if (((unsigned long long)src % 16 == 0) && ((unsigned long long)dst % 16 == 0)) {
                long long n16 = n / 16;
                for (long long j = i; j < n16; j += stride) ((uint4*)dst)[j] = ((const uint4*)src)[j];
                for (long long j = n16 * 16 + i; j < n; j += stride) dst[j] = src[j];
              } else {
                for (long long j = i; j < n; j += stride) dst[j] = src[j];
              }
            }
            """;

    private final ExecutionPlan plan;
    private final Context ctx;
    private final Stream stream;
    private final List<CudaModule> modules = new ArrayList<>();
    private final List<Kernel> kernels = new ArrayList<>();
    private final List<KernelBinary.LoadMode> loadModes = new ArrayList<>();
    private final Kernel copy;
    private final DeviceBuffer arena, weights, workspace;
    /** The plan's encoded TMA tensor maps (null when it has none); {@link #mapsAt}[i]: launch i's first map's offset in it. */
    private final DeviceBuffer tensorMaps;
    private final long[] mapsAt;
    private final List<DeviceBuffer> inBuffers = new ArrayList<>(), outBuffers = new ArrayList<>();
    private final PinnedBuffer inStaging, outStaging;
    private final long[] inOffsets, outOffsets;
    private final Event start, end;
    private final long loadNanos, compileNanos, nvrtcNanos, moduleNanos, uploadNanos;
    private final int compiled, nvrtcRuns;
    private GraphExec graph;
    private long runs;
    private float lastRunMillis;
    private boolean closed;

    private PlanExecutor(ExecutionPlan plan, Context ctx, KernelCache cache, List<KernelBinary> prebuilt, Progress progress, WeightUpload preloaded) {
        long t0 = System.nanoTime();
        this.plan = plan;
        this.ctx = ctx;
        String arch = ctx.device().arch();
        List<String> flags = CompileFlags.standard();
        int n = plan.kernels().size();
        try {
            // 1. NVRTC, in the pool, for every kernel without a prebuilt binary (and the copy kernel); nothing
            //    here touches the context, so this thread does the GPU work below meanwhile
            List<KernelBinary> bins = new ArrayList<>(n);
            List<CompileRequest> requests = new ArrayList<>();
            List<Integer> compiledIndex = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                KernelBinary bin = i < prebuilt.size() && prebuilt.get(i) != null ? prebuilt.get(i) : KernelBinary.NONE;
                bins.add(bin);
                if (bin.cubin().length == 0 && bin.ptx().length == 0) {
                    compiledIndex.add(i);
                    requests.add(request(plan.kernels().get(i), flags, arch));
                }
            }
            requests.add(new CompileRequest(COPY_SOURCE, "kiln_copy.cu", flags, arch));
            long missesBefore = cache.compiles();
            List<CompletableFuture<CompiledKernel>> compiling = CompilePool.submit(requests, cache::get, progress);
            AtomicLong lastCompiled = new AtomicLong(t0);
            for (CompletableFuture<CompiledKernel> f : compiling) f.whenComplete((k, e) -> lastCompiled.accumulateAndGet(System.nanoTime(), Math::max));

            // 2. memory and the weights upload, while the pool compiles
            long tMem = System.nanoTime();
            stream = ctx.createStream();
            arena = ctx.allocate(Math.max(1, plan.arenaBytes()));
            DeviceBuffer uploaded = preloaded == null ? null : preloaded.take(plan.weightBytes()); // begun during the compile
            if (uploaded != null) weights = uploaded;
            else {
                weights = ctx.allocate(Math.max(1, plan.weightBytes()));
                StagedUpload.copy(ctx, plan.weightsView(), weights, stream);
            }
            workspace = ctx.allocate(Math.max(1, plan.workspaceBytes()));
            workspace.fillAsync((byte) 0, stream); // zeroed once; launches leave their zeroed parts zero
            stream.synchronize();
            mapsAt = new long[plan.launches().size()];
            tensorMaps = encodeTensorMaps();
            inOffsets = offsets(plan.inputs());
            outOffsets = offsets(plan.outputs());
            inStaging = ctx.allocatePinned(Math.max(1, total(plan.inputs())));
            outStaging = ctx.allocatePinned(Math.max(1, total(plan.outputs())));
            for (ExecutionPlan.Slot s : plan.inputs()) inBuffers.add(ctx.allocate(Math.max(1, s.bytes())));
            for (ExecutionPlan.Slot s : plan.outputs()) outBuffers.add(ctx.allocate(Math.max(1, s.bytes())));
            start = ctx.createEvent();
            end = ctx.createEvent();
            uploadNanos = System.nanoTime() - tMem;

            // 3. modules, in kernel order: prebuilt CUBIN for this GPU, else PTX (JIT), else what NVRTC made
            long tLoad = System.nanoTime(), waited = 0;
            CudaModule[] loaded = new CudaModule[n];
            KernelBinary.LoadMode[] modes = new KernelBinary.LoadMode[n];
            List<Integer> rescue = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                KernelBinary bin = bins.get(i);
                if (bin.cubin().length > 0 && bin.arch().equals(CompileRequest.archFor(plan.kernels().get(i).source(), arch)) && (loaded[i] = tryLoad(bin.cubin())) != null) modes[i] = KernelBinary.LoadMode.CUBIN;
                else if (bin.ptx().length > 0 && (loaded[i] = tryLoad(bin.ptx())) != null) modes[i] = KernelBinary.LoadMode.PTX;
                else if (bin.cubin().length > 0 || bin.ptx().length > 0) rescue.add(i); // no image this GPU takes
                if (loaded[i] != null) modules.add(loaded[i]);
            }
            for (int j = 0; j < compiledIndex.size(); j++) {
                long w = System.nanoTime();
                CompiledKernel k = Background.join(compiling.get(j));
                waited += System.nanoTime() - w;
                int i = compiledIndex.get(j);
                modules.add(loaded[i] = CudaModule.load(ctx, k));
                modes[i] = KernelBinary.LoadMode.NVRTC;
            }
            long w0 = System.nanoTime();
            CompiledKernel copyKernel = Background.join(compiling.getLast());
            waited += System.nanoTime() - w0;
            CudaModule copyModule = CudaModule.load(ctx, copyKernel);
            modules.add(copyModule);
            copy = copyModule.kernel("kiln_copy");
            long nvrtc = lastCompiled.get() - t0;
            if (!rescue.isEmpty()) { // prebuilt images this GPU rejected: compile them after all
                long w = System.nanoTime();
                List<CompileRequest> again = new ArrayList<>();
                for (int i : rescue) again.add(request(plan.kernels().get(i), flags, arch));
                List<CompiledKernel> rescued = cache.getAll(again, progress);
                waited += System.nanoTime() - w;
                nvrtc += System.nanoTime() - w;
                for (int j = 0; j < rescue.size(); j++) {
                    modules.add(loaded[rescue.get(j)] = CudaModule.load(ctx, rescued.get(j)));
                    modes[rescue.get(j)] = KernelBinary.LoadMode.NVRTC;
                }
            }
            for (int i = 0; i < n; i++) {
                kernels.add(loaded[i].kernel(plan.kernels().get(i).entry()));
                loadModes.add(modes[i]);
            }
            nvrtcNanos = nvrtc;
            moduleNanos = System.nanoTime() - tLoad - waited;
            compileNanos = System.nanoTime() - t0 - uploadNanos;
            compiled = requests.size() + rescue.size();
            nvrtcRuns = (int) (cache.compiles() - missesBefore); // other users of the cache may add to it: an upper bound
        } catch (RuntimeException e) {
            progress.clear();
            closeAll();
            throw e;
        }
        progress.clear();
        loadNanos = System.nanoTime() - t0;
    }

    /**
     * Every launch's tensor maps, encoded over this executor's addresses (fixed from here on) and copied to one
     * device buffer before any launch or capture, so kernels read them without a proxy fence.
     */
    private DeviceBuffer encodeTensorMaps() {
        List<TensorMap> maps = new ArrayList<>();
        List<Long> at = new ArrayList<>();
        for (int i = 0; i < plan.launches().size(); i++) {
            ExecutionPlan.Launch l = plan.launches().get(i);
            mapsAt[i] = (long) maps.size() * TensorMap.BYTES;
            for (ExecutionPlan.Arg a : l.args())
                if (a instanceof ExecutionPlan.Arg.TensorMaps t)
                    for (ExecutionPlan.Arg.TensorMaps.Over o : t.maps()) {
                        maps.add(o.map());
                        at.add(pointer(l.args().get(o.arg())) + o.offsetBytes());
                    }
        }
        if (maps.isEmpty()) return null;
        if (!TensorMap.available())
            throw new CudaUnavailableException("plan " + plan.name() + " has TMA kernels, but this CUDA driver cannot encode tensor maps (cuTensorMapEncodeTiled)");
        return TensorMap.upload(ctx, maps, at.stream().mapToLong(Long::longValue).toArray());
    }

    /** The device address of a pointer argument. */
    private long pointer(ExecutionPlan.Arg a) {
        return switch (a) {
            case ExecutionPlan.Arg.ArenaPtr p -> arena.address() + p.offset();
            case ExecutionPlan.Arg.WeightPtr p -> weights.address() + p.offset();
            case ExecutionPlan.Arg.WorkspacePtr p -> workspace.address() + p.offset();
            default -> throw new IllegalArgumentException(a + " is not a pointer argument");
        };
    }

    private static CompileRequest request(ExecutionPlan.KernelSource k, List<String> flags, String arch) {
        return new CompileRequest(k.source(), k.name() + ".cu", flags, arch);
    }

    /** Loads {@code plan}, compiling every kernel through {@code cache}. */
    public static PlanExecutor open(ExecutionPlan plan, Context ctx, KernelCache cache) {
        return new PlanExecutor(plan, ctx, cache, List.of(), Progress.NONE, null);
    }

    /** Loads {@code plan}, preferring the prebuilt binaries (index = kernel index; null entries compile). */
    public static PlanExecutor open(ExecutionPlan plan, Context ctx, KernelCache cache, List<KernelBinary> prebuilt) {
        return new PlanExecutor(plan, ctx, cache, prebuilt, Progress.NONE, null);
    }

    /** {@link #open(ExecutionPlan, Context, KernelCache, List)}, reporting the NVRTC step to {@code progress}. */
    public static PlanExecutor open(ExecutionPlan plan, Context ctx, KernelCache cache, List<KernelBinary> prebuilt, Progress progress) {
        return new PlanExecutor(plan, ctx, cache, prebuilt, progress, null);
    }

    /**
     * {@link #open(ExecutionPlan, Context, KernelCache, List, Progress)} with the weights already on their way to
     * {@code ctx} ({@code preloaded}, begun from the same block while the plan was made; null: upload here). Its
     * buffer becomes this executor's; if that upload failed, this one uploads the block itself.
     */
    public static PlanExecutor open(ExecutionPlan plan, Context ctx, KernelCache cache, List<KernelBinary> prebuilt, Progress progress,
                                    WeightUpload preloaded) {
        return new PlanExecutor(plan, ctx, cache, prebuilt, progress, preloaded);
    }

    private CudaModule tryLoad(byte[] image) {
        try {
            return CudaModule.load(ctx, image);
        } catch (CudaException e) {
            return null; // wrong GPU for this image: the next option rescues it
        }
    }

    private static long[] offsets(List<ExecutionPlan.Slot> slots) {
        long[] o = new long[slots.size()];
        long at = 0;
        for (int i = 0; i < o.length; i++) {
            o[i] = at;
            at += slots.get(i).bytes();
        }
        return o;
    }

    private static long total(List<ExecutionPlan.Slot> slots) { return slots.stream().mapToLong(ExecutionPlan.Slot::bytes).sum(); }

    /** Runs the plan once: inputs are the raw little-endian bytes of each input slot, in order. */
    public synchronized List<byte[]> run(List<byte[]> inputs) {
        if (closed) throw new IllegalStateException("executor of " + plan.name() + " is closed");
        if (inputs.size() != plan.inputs().size())
            throw new IllegalArgumentException(plan.name() + " takes " + plan.inputs().size() + " inputs, got " + inputs.size());
        MemorySegment in = inStaging.segment();
        for (int i = 0; i < inputs.size(); i++) {
            ExecutionPlan.Slot s = plan.inputs().get(i);
            byte[] b = inputs.get(i);
            if (b.length != s.bytes())
                throw new IllegalArgumentException("input " + s.label() + " needs " + s.bytes() + " bytes, got " + b.length);
            MemorySegment.copy(b, 0, in, ValueLayout.JAVA_BYTE, inOffsets[i], b.length);
        }
        for (int i = 0; i < inputs.size(); i++)
            if (plan.inputs().get(i).bytes() > 0)
                inBuffers.get(i).copyFromHostAsync(in.asSlice(inOffsets[i], plan.inputs().get(i).bytes()), stream);
        if (graph == null) graph = capture();
        start.record(stream);
        graph.launch(stream);
        end.record(stream);
        MemorySegment out = outStaging.segment();
        for (int i = 0; i < outBuffers.size(); i++)
            if (plan.outputs().get(i).bytes() > 0)
                outBuffers.get(i).copyToHostAsync(out.asSlice(outOffsets[i], plan.outputs().get(i).bytes()), stream);
        stream.synchronize();
        lastRunMillis = end.elapsedMillis(start);
        runs++;
        List<byte[]> result = new ArrayList<>(outBuffers.size());
        for (int i = 0; i < outBuffers.size(); i++)
            result.add(out.asSlice(outOffsets[i], plan.outputs().get(i).bytes()).toArray(ValueLayout.JAVA_BYTE));
        return result;
    }

    /**
     * Runs the plan on device buffers: each input buffer (at least its slot's bytes, on this executor's
     * context) is copied device to device into the plan, the graph replays, and each output slot is copied
     * into the matching output buffer. Nothing crosses the PCIe bus; returns when the results are written.
     */
    public synchronized void run(List<DeviceBuffer> inputs, List<DeviceBuffer> outputs) {
        if (closed) throw new IllegalStateException("executor of " + plan.name() + " is closed");
        if (inputs.size() != plan.inputs().size() || outputs.size() != plan.outputs().size())
            throw new IllegalArgumentException(plan.name() + " takes " + plan.inputs().size() + " inputs and "
                    + plan.outputs().size() + " outputs, got " + inputs.size() + " and " + outputs.size());
        for (int i = 0; i < inputs.size(); i++)
            if (plan.inputs().get(i).bytes() > 0) inBuffers.get(i).copyFromAsync(inputs.get(i), plan.inputs().get(i).bytes(), stream);
        if (graph == null) graph = capture();
        start.record(stream);
        graph.launch(stream);
        end.record(stream);
        for (int i = 0; i < outputs.size(); i++)
            if (plan.outputs().get(i).bytes() > 0) outputs.get(i).copyFromAsync(outBuffers.get(i), plan.outputs().get(i).bytes(), stream);
        stream.synchronize();
        lastRunMillis = end.elapsedMillis(start);
        runs++;
    }

    /** The context this executor's memory and kernels live in (allocate device inputs and outputs here). */
    public Context context() { return ctx; }

    /** Every launch of the plan, framed by the input and output copies, as one instantiated graph. */
    private GraphExec capture() {
        List<KernelArgs> keep = new ArrayList<>();
        stream.beginCapture();
        dev.kiln.runtime.Graph g;
        try {
            for (int i = 0; i < inBuffers.size(); i++)
                copy(inBuffers.get(i).address(), arena.address() + plan.inputs().get(i).offset(), plan.inputs().get(i).bytes(), keep);
            for (int i = 0; i < plan.launches().size(); i++) {
                ExecutionPlan.Launch l = plan.launches().get(i);
                KernelArgs a = args(i);
                keep.add(a);
                Kernel k = kernels.get(l.kernel());
                if (l.sharedBytes() > 48 * 1024) k.setMaxDynamicSharedBytes(l.sharedBytes());
                k.launch(stream, dims(l.grid()), dims(l.block()), l.sharedBytes(), a);
            }
            for (int i = 0; i < outBuffers.size(); i++)
                copy(arena.address() + plan.outputs().get(i).offset(), outBuffers.get(i).address(), plan.outputs().get(i).bytes(), keep);
        } finally {
            g = stream.endCapture();
        }
        try (g) {
            return g.instantiate();
        }
    }

    private void copy(long src, long dst, long bytes, List<KernelArgs> keep) {
        if (bytes == 0) return;
        KernelArgs a = new KernelArgs(3).pointer(src).pointer(dst).i64(bytes);
        keep.add(a);
        copy.launch(stream, Dim3.cover(Math.min(bytes / 16 + 1, 1L << 20), 256), Dim3.of(256), 0, a);
    }

    private static Dim3 dims(ExecutionPlan.Dims d) { return new Dim3(d.x(), d.y(), d.z()); }

    public ExecutionPlan plan() { return plan; }

    /** How each kernel was loaded (CUBIN, PTX or NVRTC), in kernel order. */
    public List<KernelBinary.LoadMode> loadModes() { return List.copyOf(loadModes); }

    /** Wall time of construction: kernel loading plus allocations and the weights upload. */
    public double loadMillis() { return loadNanos / 1e6; }

    /** Part of {@link #loadMillis()} spent compiling or loading kernels (the upload excluded). */
    public double compileMillis() { return compileNanos / 1e6; }

    /**
     * Where construction's wall time went: {@code nvrtc} from the start until the last kernel was compiled (or
     * fetched from the cache), {@code upload} the allocations and the weights copy, which run during NVRTC,
     * {@code modules} loading images into the context (waits for NVRTC excluded); {@code compiled} kernels
     * went through the kernel cache (hits included, the copy kernel too), of which {@code nvrtcRuns} missed it
     * and ran NVRTC.
     */
    public record LoadTimes(double nvrtcMillis, double moduleMillis, double uploadMillis, double totalMillis, int compiled, int nvrtcRuns) {}

    public LoadTimes loadTimes() {
        return new LoadTimes(nvrtcNanos / 1e6, moduleNanos / 1e6, uploadNanos / 1e6, loadNanos / 1e6, compiled, nvrtcRuns);
    }

    /** Device time of the last run's graph, measured with events (copies to and from the host excluded). */
    public synchronized float lastRunMillis() { return lastRunMillis; }

    public synchronized long runs() { return runs; }

    @Override public synchronized void close() {
        if (closed) return;
        closed = true;
        closeAll();
    }

    private void closeAll() {
        List<AutoCloseable> all = new ArrayList<>();
        all.add(graph);
        all.add(start);
        all.add(end);
        all.addAll(inBuffers);
        all.addAll(outBuffers);
        all.add(inStaging);
        all.add(outStaging);
        all.add(arena);
        all.add(weights);
        all.add(workspace);
        all.add(tensorMaps);
        all.add(stream);
        all.addAll(modules);
        for (AutoCloseable c : all) {
            if (c == null) continue;
            try {
                c.close();
            } catch (Exception ignored) {
                // free the rest regardless
            }
        }
    }

    // ---- for PlanProfiler, which times one launch of the plan on its own (package-private) ----

    /** The arguments of one launch: plan offsets turned into this executor's device addresses (capture uses it too). */
    KernelArgs args(int launch) {
        ExecutionPlan.Launch l = plan.launches().get(launch);
        KernelArgs a = new KernelArgs(l.args().size());
        long maps = mapsAt[launch];
        for (ExecutionPlan.Arg arg : l.args()) {
            switch (arg) {
                case ExecutionPlan.Arg.ArenaPtr p -> a.pointer(arena.address() + p.offset());
                case ExecutionPlan.Arg.WeightPtr p -> a.pointer(weights.address() + p.offset());
                case ExecutionPlan.Arg.WorkspacePtr p -> a.pointer(workspace.address() + p.offset());
                case ExecutionPlan.Arg.TensorMaps t -> {
                    a.pointer(tensorMaps.address() + maps);
                    maps += (long) t.maps().size() * TensorMap.BYTES;
                }
                case ExecutionPlan.Arg.I32 v -> a.i32(v.value());
                case ExecutionPlan.Arg.I64 v -> a.i64(v.value());
                case ExecutionPlan.Arg.F32 v -> a.f32(v.value());
            }
        }
        return a;
    }

    /** Enqueues launch {@code i} of the plan alone on this executor's stream. */
    void launch(int i, KernelArgs a) {
        ExecutionPlan.Launch l = plan.launches().get(i);
        Kernel k = kernels.get(l.kernel());
        if (l.sharedBytes() > 48 * 1024) k.setMaxDynamicSharedBytes(l.sharedBytes());
        k.launch(stream, dims(l.grid()), dims(l.block()), l.sharedBytes(), a);
    }

    /** Enqueues the copies of the last run's inputs into their arena slots, as the graph's first nodes do. */
    void copyInputsToArena() {
        List<KernelArgs> keep = new ArrayList<>();
        for (int i = 0; i < inBuffers.size(); i++)
            copy(inBuffers.get(i).address(), arena.address() + plan.inputs().get(i).offset(), plan.inputs().get(i).bytes(), keep);
    }

    /** Enqueues the copy kernel on zero bytes: a launch that does nothing, the floor of per-launch timing. */
    void launchEmpty() {
        copy.launch(stream, Dim3.of(1), Dim3.of(32), 0, new KernelArgs(3).pointer(arena.address()).pointer(arena.address()).i64(0));
    }

    Stream stream() { return stream; }

    boolean closed() { return closed; }
}
