package dev.kiln.codegen;

import dev.kiln.ir.DType;

import java.util.List;

/**
 * One generated kernel and how to launch it: CUDA C source, entry point, grid and block sizes, dynamic shared
 * memory, and the parameters in order. Buffer parameters name values of the top-level graph; the memory plan
 * turns them into device pointers. Codegen makes these from the IR without changing it.
 *
 * The source is shared by every launch of the same code (the entry is named after it, see {@link KernelNames});
 * what differs per launch is the parameters, the launch shape and the origins.
 *
 * @param origins the ONNX nodes this launch absorbed (dumps write them as a comment above the source)
 */
public record KernelSpec(String name, String source, String entry, Dim3 grid, Dim3 block, int sharedBytes,
                         List<Param> params, List<String> origins) {

    public record Dim3(int x, int y, int z) {
        public static Dim3 of(long x) { return of(x, 1, 1); }
        public static Dim3 of(long x, long y, long z) {
            if (x < 1 || y < 1 || z < 1 || x > Integer.MAX_VALUE || y > 65535 || z > 65535)
                throw new IllegalArgumentException("launch dims out of range: " + x + "," + y + "," + z);
            return new Dim3((int) x, (int) y, (int) z);
        }
        public long count() { return (long) x * y * z; }
    }

    /**
     * One TMA tensor map the launcher must encode (the driver's {@code cuTensorMapEncodeTiled}) over the device
     * address of kernel parameter {@code param} (a {@link Param.Buffer}) plus {@code offsetBytes}: elements of
     * {@code dtype}, sizes {@code dims} innermost first, byte strides of the outer axes, copies of {@code box}
     * elements, {@code swizzleBytes} shared-memory swizzle (0, 32, 64 or 128); element strides 1, out-of-bounds
     * elements zero.
     */
    public record TensorMap(int param, DType dtype, long offsetBytes, List<Long> dims, List<Long> strideBytes, List<Integer> box, int swizzleBytes) {
        public TensorMap {
            dims = List.copyOf(dims);
            strideBytes = List.copyOf(strideBytes);
            box = List.copyOf(box);
            if (param < 0 || offsetBytes < 0 || dims.isEmpty() || strideBytes.size() != dims.size() - 1 || box.size() != dims.size())
                throw new IllegalArgumentException("malformed tensor map over parameter " + param + ": " + dims + " / " + strideBytes + " / " + box);
        }
    }

    /** A kernel parameter: a device buffer holding a graph value, a workspace, a scalar, or a pointer to tensor maps. */
    public sealed interface Param {
        record Buffer(String value) implements Param {}
        /**
         * Device scratch private to this launch for its duration. {@code zeroed}: the bytes are zero when the
         * launch starts, and the kernel must leave them zero when it ends (split-K tile counters); such
         * regions persist across runs and are never shared. Otherwise the contents are undefined on entry
         * (split-K partial sums) and the region may be reused by other launches.
         */
        record Workspace(long bytes, boolean zeroed) implements Param {
            public Workspace {
                if (bytes < 1) throw new IllegalArgumentException("workspace of " + bytes + " bytes");
            }
        }
        /** A pointer to these maps, encoded by the launcher once the buffers' addresses are fixed, 128 bytes each in order. */
        record TensorMaps(List<TensorMap> maps) implements Param {
            public TensorMaps {
                maps = List.copyOf(maps);
                if (maps.isEmpty()) throw new IllegalArgumentException("a tensor maps parameter without maps");
            }
        }
        record I32(int value) implements Param {}
        record I64(long value) implements Param {}
        record F32(float value) implements Param {}
    }
}
