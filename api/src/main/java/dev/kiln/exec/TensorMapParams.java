package dev.kiln.exec;

import dev.kiln.codegen.KernelSpec;
import dev.kiln.ir.DType;
import dev.kiln.runtime.Context;
import dev.kiln.runtime.DeviceBuffer;
import dev.kiln.runtime.TensorMap;

import java.util.List;

/**
 * Codegen's {@link KernelSpec.Param.TensorMaps} in the runtime's terms: each {@link KernelSpec.TensorMap} as a
 * {@link TensorMap} (plans store that), and, for launchers that bind parameters themselves (the autotuner's
 * timer, the GEMM bench), the encoded maps over the buffers' device addresses.
 */
public final class TensorMapParams {
    private TensorMapParams() {}

    /** The runtime's geometry of {@code m} (its base parameter and offset are the caller's). */
    public static TensorMap geometry(KernelSpec.TensorMap m) {
        return new TensorMap(element(m.dtype()), m.dims(), m.strideBytes(), m.box(), TensorMap.Swizzle.ofBytes(m.swizzleBytes()));
    }

    static TensorMap.Element element(DType t) {
        return switch (t) {
            case F16 -> TensorMap.Element.F16;
            case BF16 -> TensorMap.Element.BF16;
            case F32 -> TensorMap.Element.F32;
            case F64 -> TensorMap.Element.F64;
            case I32 -> TensorMap.Element.I32;
            case I64 -> TensorMap.Element.I64;
            case U8, I8, BOOL -> TensorMap.Element.U8;
            case U16, I16 -> TensorMap.Element.U16;
            case U32 -> TensorMap.Element.U32;
            case U64 -> TensorMap.Element.U64;
            default -> throw new IllegalArgumentException("no TMA element type for " + t);
        };
    }

    /**
     * A device buffer with {@code t}'s maps encoded over {@code paramAddress[param] + offsetBytes}, in order (the
     * kernel's tensor maps pointer is its address). The caller closes it after the kernel's last launch.
     */
    public static DeviceBuffer upload(Context ctx, KernelSpec.Param.TensorMaps t, long[] paramAddress) {
        List<TensorMap> maps = t.maps().stream().map(TensorMapParams::geometry).toList();
        long[] at = t.maps().stream().mapToLong(m -> paramAddress[m.param()] + m.offsetBytes()).toArray();
        return TensorMap.upload(ctx, maps, at);
    }
}
