package dev.kiln.exec;

import dev.kiln.CompileOptions;
import dev.kiln.passes.Pass;

import java.util.List;

/** The pass pipeline the compiler runs.  */
public final class Pipelines {
    private Pipelines() {}

    /**
     * The standard pipeline of {@code dev.kiln.passes.Pipeline} (specialization, folding, canonicalization, fusion);
     * with FP16/BF16 it includes {@code convert-precision} to that type before fusion, and with
     * {@link CompileOptions#fuseViews()} the passes that move views into matmul and attention kernels.
     */
    public static List<Pass> standard(CompileOptions options) { return standard(options, java.util.Map.of()); }

    public static List<Pass> standard(CompileOptions options, java.util.Map<String, dev.kiln.ir.Tensor> boundInputs) {
        return dev.kiln.passes.Pipeline.standard(java.util.Map.of(), boundInputs, dtype(options.precision()), options.fuseViews(),
                options.channelsLast(), options.f32Residuals());
    }

    /** The element type a precision computes in. */
    public static dev.kiln.ir.DType dtype(CompileOptions.Precision p) {
        return switch (p) {
            case FP32 -> dev.kiln.ir.DType.F32;
            case FP16 -> dev.kiln.ir.DType.F16;
            case BF16 -> dev.kiln.ir.DType.BF16;
        };
    }
}
