package dev.kiln.runtime.plan;

import dev.kiln.runtime.TensorMap;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Objects;

/**
 * Everything the runtime needs to run a compiled model, as plain data: the kernels (CUDA C source and entry
 * point), the sizes of the two device blocks (arena for activations, weights), the weights' bytes, the
 * launches in order with their arguments, and where inputs and outputs sit in the arena. It knows nothing
 * of ONNX, the IR or passes: the compiler makes it, {@link PlanExecutor} runs it, a bundle stores it.
 * Immutable; equality is by content. The constructors take the weights over without a copy (they may
 * hold a gigabyte): an array, or a segment such as a bundle's memory-mapped weights entry; whoever makes a plan
 * must not change them afterwards. The segment is kept read-only.
 */
public record ExecutionPlan(String name, List<KernelSource> kernels, long arenaBytes, MemorySegment weightData,
                            List<Slot> weightSlots, List<Launch> launches, List<Slot> inputs, List<Slot> outputs,
                            long workspaceBytes) {

    /** The weights from an array, taken over without a copy. */
    public ExecutionPlan(String name, List<KernelSource> kernels, long arenaBytes, byte[] weights,
                         List<Slot> weightSlots, List<Launch> launches, List<Slot> inputs, List<Slot> outputs, long workspaceBytes) {
        this(name, kernels, arenaBytes, MemorySegment.ofArray(weights), weightSlots, launches, inputs, outputs, workspaceBytes);
    }

    /** A plan with no workspace. */
    public ExecutionPlan(String name, List<KernelSource> kernels, long arenaBytes, byte[] weights,
                         List<Slot> weightSlots, List<Launch> launches, List<Slot> inputs, List<Slot> outputs) {
        this(name, kernels, arenaBytes, weights, weightSlots, launches, inputs, outputs, 0);
    }

    public ExecutionPlan {
        Objects.requireNonNull(name, "name");
        kernels = List.copyOf(kernels);
        // not copied: the weights can be a gigabyte; the plan takes them over (see the class comment)
        weightData = Objects.requireNonNull(weightData, "weights").asReadOnly();
        weightSlots = List.copyOf(weightSlots);
        launches = List.copyOf(launches);
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        if (arenaBytes < 0) throw new IllegalArgumentException("negative arena size " + arenaBytes);
        if (workspaceBytes < 0) throw new IllegalArgumentException("negative workspace size " + workspaceBytes);
        for (Slot s : inputs) s.checkWithin(arenaBytes, "input");
        for (Slot s : outputs) s.checkWithin(arenaBytes, "output");
        for (Slot s : weightSlots) s.checkWithin(weightData.byteSize(), "weight");
        for (Launch l : launches) {
            if (l.kernel() < 0 || l.kernel() >= kernels.size())
                throw new IllegalArgumentException("launch of kernel " + l.kernel() + " but the plan has " + kernels.size());
            for (Arg a : l.args()) {
                if (a instanceof Arg.ArenaPtr p && (p.offset() < 0 || p.offset() >= Math.max(1, arenaBytes)))
                    throw new IllegalArgumentException("arena pointer " + p.offset() + " outside arena of " + arenaBytes);
                if (a instanceof Arg.WeightPtr p && (p.offset() < 0 || p.offset() >= Math.max(1, weightData.byteSize())))
                    throw new IllegalArgumentException("weights pointer " + p.offset() + " outside weights of " + weightData.byteSize());
                if (a instanceof Arg.WorkspacePtr p && (p.offset() < 0 || p.offset() >= workspaceBytes))
                    throw new IllegalArgumentException("workspace pointer " + p.offset() + " outside workspace of " + workspaceBytes);
                if (a instanceof Arg.TensorMaps t)
                    for (Arg.TensorMaps.Over o : t.maps())
                        if (o.arg() >= l.args().size() || !l.args().get(o.arg()).isPointer())
                            throw new IllegalArgumentException("tensor map over argument " + o.arg() + ", which is not a pointer argument of its launch");
            }
        }
    }

    /** A copy of the weights block; {@link #weightsView()} reads it without copying. */
    public byte[] weights() { return weightData.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE); }

    /** The weights block, read-only and not copied (for uploads and bundles). */
    public MemorySegment weightsView() { return weightData; }

    public long weightBytes() { return weightData.byteSize(); }

    /** One compilation unit; {@code entry} is its {@code extern "C" __global__} function. */
    public record KernelSource(String name, String source, String entry) {
        public KernelSource {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(entry, "entry");
        }
    }

    /** A byte range with an opaque label (the compiler uses the value name). */
    public record Slot(String label, long offset, long bytes) {
        void checkWithin(long size, String what) {
            if (offset < 0 || bytes < 0 || offset + bytes > size)
                throw new IllegalArgumentException(what + " slot " + label + " [" + offset + ", +" + bytes + ") outside a block of " + size);
        }
    }

    public record Dims(int x, int y, int z) {
        public Dims {
            if (x < 1 || y < 1 || z < 1) throw new IllegalArgumentException("launch dims must be positive: " + x + "," + y + "," + z);
        }
        public static Dims of(int x) { return new Dims(x, 1, 1); }
    }

    /**
     * One kernel launch; arguments in the order of the kernel's C parameters. {@code label} is opaque text
     * for reports (the compiler puts the source nodes the kernel absorbed there); empty when unknown.
     */
    public record Launch(int kernel, Dims grid, Dims block, int sharedBytes, List<Arg> args, String label) {
        public Launch {
            args = List.copyOf(args);
            Objects.requireNonNull(label, "label");
        }

        public Launch(int kernel, Dims grid, Dims block, int sharedBytes, List<Arg> args) { this(kernel, grid, block, sharedBytes, args, ""); }
    }

    /**
     * A kernel argument: a pointer into the arena, the weights or the workspace, a scalar, or a pointer to
     * TMA tensor maps. The workspace is one device block, zeroed once when the plan is loaded; launches keep
     * their zeroed parts zero.
     */
    public sealed interface Arg {
        record ArenaPtr(long offset) implements Arg {}
        record WeightPtr(long offset) implements Arg {}
        record WorkspacePtr(long offset) implements Arg {}

        /**
         * A pointer to {@code maps.size()} encoded {@link TensorMap}s, 128 bytes each, in order. The executor
         * encodes each over the device address of its launch's argument {@code arg} (an arena, weights or
         * workspace pointer) plus {@code offsetBytes}, once those addresses are fixed (at load, before the graph
         * is captured), and keeps them in a small device buffer of its own. Needs a driver with
         * {@code cuTensorMapEncodeTiled} ({@link TensorMap#available}).
         */
        record TensorMaps(List<Over> maps) implements Arg {
            public TensorMaps {
                maps = List.copyOf(maps);
                if (maps.isEmpty()) throw new IllegalArgumentException("a tensor maps argument without maps");
            }

            public record Over(int arg, long offsetBytes, TensorMap map) {
                public Over {
                    Objects.requireNonNull(map, "map");
                    if (arg < 0 || offsetBytes < 0 || offsetBytes % 16 != 0)
                        throw new IllegalArgumentException("tensor map over argument " + arg + " + " + offsetBytes + " B (needs an argument and a 16-byte multiple)");
                }
            }
        }

        /** A device pointer (arena, weights or workspace): what a tensor map can be based on. */
        default boolean isPointer() { return this instanceof ArenaPtr || this instanceof WeightPtr || this instanceof WorkspacePtr; }

        record I32(int value) implements Arg {}
        record I64(long value) implements Arg {}
        record F32(float value) implements Arg {
            // bitwise, so that NaN arguments compare equal after a round trip
            @Override public boolean equals(Object o) { return o instanceof F32 f && Float.floatToRawIntBits(f.value) == Float.floatToRawIntBits(value); }
            @Override public int hashCode() { return Float.floatToRawIntBits(value); }
        }
    }

    @Override public boolean equals(Object o) {
        return o instanceof ExecutionPlan p && p.name.equals(name) && p.kernels.equals(kernels) && p.arenaBytes == arenaBytes
                && p.weightData.byteSize() == weightData.byteSize() && p.weightData.mismatch(weightData) < 0 && p.weightSlots.equals(weightSlots) && p.launches.equals(launches)
                && p.inputs.equals(inputs) && p.outputs.equals(outputs) && p.workspaceBytes == workspaceBytes;
    }

    @Override public int hashCode() { return Objects.hash(name, kernels, arenaBytes, weightData.byteSize(), launches, inputs, outputs, workspaceBytes); }

    @Override public String toString() {
        return "ExecutionPlan " + name + " (" + kernels.size() + " kernels, " + launches.size() + " launches, arena "
                + arenaBytes + " B, weights " + weightData.byteSize() + " B)";
    }
}
