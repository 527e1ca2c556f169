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
import java.util.List;

/**
 * Turns the compiler's results (final graph, memory plan, kernel specs) into the runtime's plain
 * {@link ExecutionPlan}: buffer parameters become arena or weights offsets, constants become the weights
 * block, graph inputs and outputs become arena slots. Reads everything, changes nothing.
 */
public final class PlanBuilder {
    private PlanBuilder() {}

    public static ExecutionPlan build(Graph g, MemoryPlan memory, List<KernelSpec> specs) {
        if (memory.weightBytes() > Integer.MAX_VALUE - 16)
            throw new UnsupportedException("weights of " + memory.weightBytes() + " bytes do not fit one host array yet");
        byte[] weights = new byte[(int) memory.weightBytes()];
        List<ExecutionPlan.Slot> weightSlots = new ArrayList<>();
        for (Node n : g.nodes()) {
            if (!n.op().equals("Constant") || !memory.isWeight(n.output(0).name())) continue;
            Tensor t = n.attrTensor("value");
            MemoryPlan.Slot s = memory.slot(n.output(0).name());
            weightSlots.add(new ExecutionPlan.Slot(n.output(0).name(), s.offset(), s.bytes()));
            if (t == null || t.dtype().isString()) continue; // no GPU path reads them; codegen rejects their users
            byte[] b = t.storage();
            System.arraycopy(b, 0, weights, (int) s.offset(), b.length);
        }
        for (Node n : g.nodes())
            if (Kernels.isView(n) && memory.isWeight(n.input(0).name()) && !memory.isWeight(n.output(0).name()))
                throw n.error(new UnsupportedException("a view of a constant needs fold-constants, which this pipeline lacks"));
        List<ExecutionPlan.KernelSource> kernels = new ArrayList<>();
        List<ExecutionPlan.Launch> launches = new ArrayList<>();
        for (KernelSpec k : specs) {
            kernels.add(new ExecutionPlan.KernelSource(k.name(), k.source(), k.entry()));
            List<Arg> args = new ArrayList<>();
            for (KernelSpec.Param p : k.params()) {
                args.add(switch (p) {
                    case KernelSpec.Param.Buffer b -> memory.isWeight(b.value())
                            ? new Arg.WeightPtr(memory.slot(b.value()).offset()) : new Arg.ArenaPtr(memory.slot(b.value()).offset());
                    case KernelSpec.Param.I32 v -> new Arg.I32(v.value());
                    case KernelSpec.Param.I64 v -> new Arg.I64(v.value());
                    case KernelSpec.Param.F32 v -> new Arg.F32(v.value());
                });
            }
            launches.add(new ExecutionPlan.Launch(kernels.size() - 1, dims(k.grid()), dims(k.block()), k.sharedBytes(), args));
        }
        return new ExecutionPlan(g.name(), kernels, memory.peakBytes(), weights, weightSlots, launches,
                io(g.inputs().castToList(), memory, "input"), io(g.outputs().castToList(), memory, "output"));
    }

    private static List<ExecutionPlan.Slot> io(List<Value> values, MemoryPlan memory, String what) {
        List<ExecutionPlan.Slot> out = new ArrayList<>();
        for (Value v : values) {
            if (memory.isWeight(v.name()))
                throw new UnsupportedException("graph " + what + " %" + v.name() + " is a constant; Kiln needs outputs computed on the GPU");
            out.add(new ExecutionPlan.Slot(v.name(), memory.slot(v.name()).offset(), hostBytes(v)));
        }
        return out;
    }

    /** The bytes of a value as a host {@link Tensor} stores it (the arena slot may be larger). */
    public static long hostBytes(Value v) { return v.shape().numel() * v.dtype().storageBytes(); }

    private static ExecutionPlan.Dims dims(KernelSpec.Dim3 d) { return new ExecutionPlan.Dims(d.x(), d.y(), d.z()); }
}
