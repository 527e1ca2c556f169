package dev.kiln.codegen.kernels.ew;

import dev.kiln.codegen.KernelTemplate;

import java.util.List;

/** The elementwise, reduce and movement templates, in the order {@link dev.kiln.codegen.Codegen} should try them. */
public final class EwTemplates {
    private EwTemplates() {}

    public static List<KernelTemplate> all() {
        return List.of(new ElementwiseKernel(), new ReduceKernel(), new MovementKernel(), new CumSumKernel(), new TopKKernel());
    }
}
