package dev.kiln.exec;

import dev.kiln.codegen.KernelSpec;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.UnsupportedException;
import dev.kiln.ir.Value;
import dev.kiln.passes.MemoryPlan;
import dev.kiln.runtime.plan.ExecutionPlan;
import dev.kiln.runtime.plan.ExecutionPlan.Arg;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns the compiler's results (final graph, memory plan, kernel specs) into the runtime's plain
 * {@link ExecutionPlan}: buffer parameters become arena or weights offsets, constants become the weights
 * block, graph inputs and outputs become arena slots, and specs that share a source (repeated layers) share
 * one {@link ExecutionPlan.KernelSource}, which their launches name by index. Reads everything, changes nothing.
 */
public final class PlanBuilder {
    private PlanBuilder() {}

    /**
     * The weights block: every constant the memory plan holds as a weight, at its offset. It depends on the graph and
     * the memory plan only, not on the kernels, so it can go to the GPU while autotuning and codegen still run.
     */
    public static byte[] weights(Graph g, MemoryPlan memory) {
        if (memory.weightBytes() > Integer.MAX_VALUE - 16)
            throw new UnsupportedException("weights of " + memory.weightBytes() + " bytes do not fit one host array yet");
        byte[] weights = new byte[(int) memory.weightBytes()];
        for (Node n : g.nodes()) {
            if (!n.op().equals("Constant") || !memory.isWeight(n.output(0).name())) continue;
            Tensor t = n.attrTensor("value");
            if (t == null || t.dtype().isString()) continue; // no GPU path reads them; codegen rejects their users
            t.copyStorageTo(weights, (int) memory.slot(n.output(0).name()).offset());
        }
        return weights;
    }

    /** The plan of {@code g}, {@code memory} and the kernels {@code specs}, with the block {@link #weights} made from the same graph and memory plan. */
    public static ExecutionPlan build(Graph g, MemoryPlan memory, List<KernelSpec> specs, byte[] weights) {
        if (weights.length != memory.weightBytes())
            throw new IllegalArgumentException("a weights block of " + weights.length + " bytes for a memory plan of " + memory.weightBytes());
        List<ExecutionPlan.Slot> weightSlots = new ArrayList<>();
        for (Node n : g.nodes()) {
            if (!n.op().equals("Constant") || !memory.isWeight(n.output(0).name())) continue;
            MemoryPlan.Slot s = memory.slot(n.output(0).name());
            weightSlots.add(new ExecutionPlan.Slot(n.output(0).name(), s.offset(), s.bytes()));
        }
        for (Node n : g.nodes())
            if (Kernels.isView(n) && memory.isWeight(n.input(0).name()) && !memory.isWeight(n.output(0).name()))
                throw n.error(new UnsupportedException("a view of a constant needs fold-constants, which this pipeline lacks"));
        List<ExecutionPlan.KernelSource> kernels = new ArrayList<>();
        List<ExecutionPlan.Launch> launches = new ArrayList<>();
        // workspace: every zeroed region of its own (they persist), then one scratch area all launches share
        long zeroed = 0, scratch = 0;
        for (KernelSpec k : specs) {
            long mine = 0;
            for (KernelSpec.Param p : k.params())
                if (p instanceof KernelSpec.Param.Workspace w) {
                    if (w.zeroed()) zeroed += align(w.bytes(), WORKSPACE_ALIGN);
                    else mine += align(w.bytes(), WORKSPACE_ALIGN);
                }
            scratch = Math.max(scratch, mine);
        }
        long nextZeroed = 0;
        // specs with the same entry have the same source (codegen names kernels by content): one KernelSource each
        Map<String, Integer> kernelOf = new HashMap<>();
        for (KernelSpec k : specs) {
            int kernel = kernelOf.computeIfAbsent(k.entry(), e -> {
                kernels.add(new ExecutionPlan.KernelSource(k.name(), k.source(), k.entry()));
                return kernels.size() - 1;
            });
            if (!kernels.get(kernel).source().equals(k.source()))
                throw new IllegalStateException("two different kernels are both named " + k.entry());
            List<Arg> args = new ArrayList<>();
            long nextScratch = zeroed;
            for (KernelSpec.Param p : k.params()) {
                if (p instanceof KernelSpec.Param.Workspace w) {
                    long at = w.zeroed() ? nextZeroed : nextScratch;
                    if (w.zeroed()) nextZeroed += align(w.bytes(), WORKSPACE_ALIGN); else nextScratch += align(w.bytes(), WORKSPACE_ALIGN);
                    args.add(new Arg.WorkspacePtr(at));
                    continue;
                }
                args.add(switch (p) {
                    case KernelSpec.Param.Buffer b -> memory.isWeight(b.value())
                            ? new Arg.WeightPtr(memory.slot(b.value()).offset()) : new Arg.ArenaPtr(memory.slot(b.value()).offset());
                    case KernelSpec.Param.I32 v -> new Arg.I32(v.value());
                    case KernelSpec.Param.I64 v -> new Arg.I64(v.value());
                    case KernelSpec.Param.F32 v -> new Arg.F32(v.value());
                    // parameters become arguments one for one, so a map's base parameter index is its argument index
                    case KernelSpec.Param.TensorMaps t -> new Arg.TensorMaps(t.maps().stream()
                            .map(m -> new Arg.TensorMaps.Over(m.param(), m.offsetBytes(), TensorMapParams.geometry(m))).toList());
                    case KernelSpec.Param.Workspace w -> throw new AssertionError(); // handled above
                });
            }
            if (nextScratch - zeroed > scratch) throw new IllegalStateException("kernel " + k.name() + " asks for more scratch than planned");
            launches.add(new ExecutionPlan.Launch(kernel, dims(k.grid()), dims(k.block()), k.sharedBytes(), args,
                    String.join(",", k.origins())));
        }
        List<ExecutionPlan.Slot> inputs = new ArrayList<>();
        for (Value v : g.inputs()) {
            if (memory.isWeight(v.name()))
                throw new UnsupportedException("graph input %" + v.name() + " is a constant; Kiln cannot feed it at run time");
            inputs.add(new ExecutionPlan.Slot(v.name(), memory.slot(v.name()).offset(), hostBytes(v)));
        }
        // constant outputs: an arena slot past the memory plan's peak, filled from the weights by a copy kernel
        long arena = memory.peakBytes();
        Map<String, ExecutionPlan.Slot> constantOuts = new HashMap<>();
        List<ExecutionPlan.Slot> outputs = new ArrayList<>();
        for (Value v : g.outputs()) {
            if (!memory.isWeight(v.name())) {
                outputs.add(new ExecutionPlan.Slot(v.name(), memory.slot(v.name()).offset(), hostBytes(v)));
                continue;
            }
            ExecutionPlan.Slot slot = constantOuts.get(v.name());
            if (slot == null) {
                if (v.dtype().isString()) throw new UnsupportedException("graph output %" + v.name() + " is a string constant; strings have no GPU path");
                long bytes = hostBytes(v), offset = align(arena, OUT_ALIGN);
                arena = offset + Math.max(bytes, 1);
                slot = new ExecutionPlan.Slot(v.name(), offset, bytes);
                constantOuts.put(v.name(), slot);
                if (bytes > 0) {
                    int kernel = kernelOf.computeIfAbsent(CONST_COPY_ENTRY, e -> {
                        kernels.add(new ExecutionPlan.KernelSource(CONST_COPY_ENTRY, CONST_COPY_SOURCE, CONST_COPY_ENTRY));
                        return kernels.size() - 1;
                    });
                    launches.add(new ExecutionPlan.Launch(kernel, new ExecutionPlan.Dims((int) Math.min(4096, (bytes + 255) / 256), 1, 1),
                            ExecutionPlan.Dims.of(256), 0, List.of(new Arg.WeightPtr(memory.slot(v.name()).offset()),
                            new Arg.ArenaPtr(offset), new Arg.I64(bytes))));
                }
            }
            outputs.add(slot);
        }
        return new ExecutionPlan(g.name(), kernels, arena, weights, weightSlots, launches, inputs, outputs, zeroed + scratch);
    }

    /** Entry (and kernel name) of the copy that fills a constant graph output's arena slot from the weights. */
    public static final String CONST_COPY_ENTRY = "kiln_constant_output";

    /** Byte copy, grid-stride; constant outputs are small, so no vector loads. */
    static final String CONST_COPY_SOURCE = """
            // Kiln: copies a constant graph output from the weights block into its arena slot
            extern "C" __global__ void kiln_constant_output(const unsigned char* __restrict__ src, unsigned char* __restrict__ dst, long long n) {
              for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)blockDim.x * gridDim.x)
                dst[i] = src[i];
            }
            """;

    private static final long OUT_ALIGN = 256;
    private static final long WORKSPACE_ALIGN = 256;

    private static long align(long x, long a) { return (x + a - 1) / a * a; }

    /** The bytes of a value as a host {@link Tensor} stores it (the arena slot may be larger). */
    public static long hostBytes(Value v) { return v.shape().numel() * v.dtype().storageBytes(); }

    private static ExecutionPlan.Dims dims(KernelSpec.Dim3 d) { return new ExecutionPlan.Dims(d.x(), d.y(), d.z()); }
}
