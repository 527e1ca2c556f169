package dev.kiln.exec;

import dev.kiln.CompileOptions;
import dev.kiln.passes.Pass;

import java.util.List;

/** The pass pipeline the compiler runs.  */
public final class Pipelines {
    private Pipelines() {}

    /** The standard pipeline of {@code dev.kiln.passes.Pipeline} (specialization, folding, canonicalization, fusion). */
    public static List<Pass> standard(CompileOptions options) { return standard(options, java.util.Map.of()); }

    public static List<Pass> standard(CompileOptions options, java.util.Map<String, dev.kiln.ir.Tensor> boundInputs) {
        return dev.kiln.passes.Pipeline.standard(java.util.Map.of(), boundInputs);
    }
}
