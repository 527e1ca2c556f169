package dev.kiln.exec;

import dev.kiln.CompileOptions;
import dev.kiln.passes.EliminateCommonSubexpressions;
import dev.kiln.passes.EliminateDeadCode;
import dev.kiln.passes.Pass;

import java.util.List;

/** The pass pipeline the compiler runs. The ONE place to switch to {@code dev.kiln.passes.Pipeline} once it is in main. */
public final class Pipelines {
    private Pipelines() {}

    /**
     * The passes that exist today. Until canonicalize/fuse-* land, codegen sees unfused primitives, so only
     * graphs whose every node some template accepts compile to a plan.
     */
    public static List<Pass> standard(CompileOptions options) {
        return List.of(
                new EliminateCommonSubexpressions(), // before dce: merged duplicates leave dead nodes behind
                new EliminateDeadCode());
    }
}
