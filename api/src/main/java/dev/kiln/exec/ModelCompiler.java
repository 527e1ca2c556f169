package dev.kiln.exec;

import dev.kiln.CompileOptions;
import dev.kiln.CompileReport;
import dev.kiln.Timings;
import dev.kiln.codegen.Codegen;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.ir.Graph;
import dev.kiln.ir.ShapeException;
import dev.kiln.ir.Value;
import dev.kiln.ir.Verifier;
import dev.kiln.ir.text.IrPrinter;
import dev.kiln.passes.MemoryPlan;
import dev.kiln.passes.Pass;
import dev.kiln.passes.PassManager;
import dev.kiln.passes.PlanMemory;
import dev.kiln.runtime.Progress;
import dev.kiln.runtime.TerminalProgress;
import dev.kiln.runtime.plan.ExecutionPlan;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * The compile path after import: passes ({@link Pipelines}) -> plan-memory -> codegen ({@link Kernels}) ->
 * {@link ExecutionPlan}. The IR is never changed in place; each stage reads the previous one's result.
 */
public final class ModelCompiler {
    private ModelCompiler() {}

    /**
     * Everything a compilation produced. {@code graph} is the final IR the plan was made from; {@code launchNodes}
     * names the node of {@code graph} that made each launch (see {@link LaunchNodes}).
     */
    public record Result(Graph graph, MemoryPlan memory, List<KernelSpec> kernels, ExecutionPlan plan, CompileReport report,
                         List<String> launchNodes) {}

    public static Result compile(Graph input, CompileOptions options, String arch) {
        return compile(input, options, arch, java.util.Map.of(), null);
    }

    /**
     * {@code bound}: inputs specialized on their values (they become constants; see SpecializeShapes).
     * {@code timer}: the GPU the autotune stage times candidates on, or null to use the heuristics.
     */
    public static Result compile(Graph input, CompileOptions options, String arch, java.util.Map<String, dev.kiln.ir.Tensor> bound,
                                 Autotune.Timer timer) {
        return compile(input, options, arch, bound, timer, null);
    }

    /**
     * {@code weightsReady}, when not null, is given the plan's weights block as soon as the memory plan fixes it,
     * before autotuning and codegen, so that it can go to the GPU meanwhile ({@code WeightUpload}); the plan is
     * built with that same array, which must not change.
     */
    public static Result compile(Graph input, CompileOptions options, String arch, java.util.Map<String, dev.kiln.ir.Tensor> bound,
                                 Autotune.Timer timer, java.util.function.Consumer<byte[]> weightsReady) {
        long t0 = System.nanoTime();
        Verifier.verify(input);
        for (Value v : input.inputs())
            if (!bound.containsKey(v.name()) && !v.shape().isStatic())
                throw new ShapeException("input %" + v.name() + " has shape " + v.shape()
                        + "; compile needs static input shapes (specialize the model to concrete sizes first)")
                        .withContext(input.name(), null, null);
        List<Pass> passes = Pipelines.standard(options, bound);
        Progress progress = options.progress() ? TerminalProgress.stderr() : Progress.NONE;
        int[] done = {0};
        PassManager pm = new PassManager(passes, Set.of(),
                new PassManager.Options(options.verifyEach(), options.dumpDir(), options.dumpDir() == null ? null : options.dumpAfter(),
                        line -> progress.update("passes", ++done[0], passes.size())),
                IrPrinter::print);
        Graph g;
        try {
            g = pm.run(input);
        } finally {
            progress.clear();
        }
        if (!options.verifyEach()) Verifier.verify(g); // once at the end: a pass bug stops here, not in codegen
        long t1 = System.nanoTime();
        MemoryPlan memory = PlanMemory.plan(g, Kernels::isView);
        byte[] weights = PlanBuilder.weights(g, memory);
        if (weightsReady != null) weightsReady.accept(weights);
        CodegenOptions cg = new CodegenOptions(options.allowTf32(), arch, smCount(arch));
        Codegen codegen = Kernels.codegen();
        // autotune after the passes (it times the final groups) and before codegen (which uses its choices)
        Autotune.Result tuning = timer == null ? Autotune.Result.NONE
                : Autotune.run(g, codegen, cg, options.tune(), TuningCache.in(dev.kiln.runtime.KernelCache.defaultDir(System.getenv())), timer);
        List<Codegen.Emitted> emitted = codegen.generateByNode(g, new dev.kiln.codegen.CodegenContext(cg, tuning.choices()));
        List<KernelSpec> specs = emitted.stream().map(Codegen.Emitted::spec).toList();
        ExecutionPlan plan = PlanBuilder.build(g, memory, specs, weights);
        if (options.dumpDir() != null) dumpKernels(options.dumpDir(), specs);
        long t2 = System.nanoTime();
        String note = options.precision() == CompileOptions.Precision.FP32 ? "" : precisionNote(options.precision(), pm.records());
        double tuningMillis = tuning.millis();
        CompileReport report = new CompileReport(g.name(), pm.records(), plan.launches().size(), plan.kernels().size(), memory.peakBytes(),
                memory.weightBytes(), memory.summary(), options.precision(), note, arch, (t2 - t0) / 1_000_000,
                new Timings(0, (t1 - t0) / 1e6, (t2 - t1) / 1e6 - tuningMillis, 0, tuningMillis, 0, 0), tuning);
        return new Result(g, memory, specs, plan, report, LaunchNodes.match(emitted, plan));
    }

    /** The multiprocessors contraction grids fill: this machine's GPU when it is the target, else an H100/H200's. */
    static int smCount(String arch) {
        if (!dev.kiln.runtime.Cuda.available()) return CodegenOptions.DEFAULT_SM_COUNT;
        dev.kiln.runtime.Device d = dev.kiln.runtime.Device.get(Integer.getInteger("kiln.device", 0));
        return d.arch().equals(arch) ? d.multiprocessors() : CodegenOptions.DEFAULT_SM_COUNT;
    }

    static String launchHeader(int launch, KernelSpec s, List<Integer> sameKernel) {
        List<String> args = new java.util.ArrayList<>();
        for (KernelSpec.Param p : s.params())
            args.add(switch (p) {
                case KernelSpec.Param.Buffer b -> "%" + b.value();
                case KernelSpec.Param.Workspace w -> "workspace " + w.bytes() + " B" + (w.zeroed() ? " (zeroed)" : "");
                case KernelSpec.Param.I32 v -> Integer.toString(v.value());
                case KernelSpec.Param.I64 v -> Long.toString(v.value());
                case KernelSpec.Param.F32 v -> Float.toString(v.value());
                case KernelSpec.Param.TensorMaps t -> t.maps().size() + " TMA tensor map(s)";
            });
        return dev.kiln.codegen.KernelNames.originLine(s.origins().isEmpty() ? List.of(s.name()) : s.origins()) + "\n"
                + String.format("// launch %d of %s: grid (%d,%d,%d), block (%d,%d,%d), %d B dynamic shared memory%n", launch, s.entry(),
                        s.grid().x(), s.grid().y(), s.grid().z(), s.block().x(), s.block().y(), s.block().z(), s.sharedBytes())
                + "// arguments: " + String.join(", ", args) + "\n"
                + (sameKernel.size() > 1 ? "// the same kernel runs at launches " + sameKernel + "\n" : "");
    }

    /** "f32 computed in f16 (inputs and outputs stay f32): constants converted 12, ..." from convert-precision's counters. */
    private static String precisionNote(CompileOptions.Precision p, List<PassManager.Record> records) {
        String counters = records.stream().filter(r -> r.pass().equals(dev.kiln.passes.ConvertPrecision.NAME))
                .map(PassManager.Record::counters).filter(c -> !c.isEmpty()).findFirst().orElse("no f32 values");
        return "precision " + p.text() + ": f32 computed in " + p.text() + " (inputs and outputs stay f32; reductions, Pow and "
                + "shape arithmetic in f32): " + counters;
    }

    /**
     * One {@code .cu} per launch, in launch order: the shared source under a header naming the ONNX nodes this
     * launch absorbed, its arguments and the other launches of the same kernel.
     */
    private static void dumpKernels(Path dir, List<KernelSpec> specs) {
        try {
            Path k = Files.createDirectories(dir.resolve("kernels"));
            java.util.Map<String, List<Integer>> launchesOf = new java.util.LinkedHashMap<>();
            for (int i = 0; i < specs.size(); i++) launchesOf.computeIfAbsent(specs.get(i).entry(), e -> new java.util.ArrayList<>()).add(i);
            for (int i = 0; i < specs.size(); i++) {
                KernelSpec s = specs.get(i);
                Files.writeString(k.resolve(String.format("%02d-%s.cu", i, s.name())), launchHeader(i, s, launchesOf.get(s.entry())) + s.source(),
                        StandardCharsets.UTF_8);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot dump kernels to " + dir + ": " + e.getMessage(), e);
        }
    }
}
