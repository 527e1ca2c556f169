package dev.kiln.exec;

import dev.kiln.codegen.Codegen;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.ir.Graph;
import dev.kiln.runtime.plan.ExecutionPlan;

import java.util.ArrayList;
import java.util.List;

/**
 * Which IR node made each launch of a plan, named by the node's first output: what a profile costs a kernel
 * from. The compiler knows it from codegen; for a bundle it is derived again by running codegen on the bundle's
 * final IR, and accepted only where that reproduces the bundle's kernel sources launch for launch, so the
 * mapping is never a guess. "" marks a launch no node made (the copy of a constant graph output) or one that
 * could not be matched.
 */
public final class LaunchNodes {
    private LaunchNodes() {}

    /**
     * The node of each launch, given codegen's kernels in order. The plan has one launch per kernel, in order,
     * then copies of constant outputs; each pairing is checked against the launch's kernel source.
     */
    public static List<String> match(List<Codegen.Emitted> emitted, ExecutionPlan plan) {
        List<String> out = new ArrayList<>(plan.launches().size());
        for (int i = 0; i < plan.launches().size(); i++) {
            ExecutionPlan.KernelSource k = plan.kernels().get(plan.launches().get(i).kernel());
            boolean same = i < emitted.size() && emitted.get(i).spec().entry().equals(k.entry())
                    && emitted.get(i).spec().source().equals(k.source());
            out.add(same ? emitted.get(i).node().output(0).name() : "");
        }
        return List.copyOf(out);
    }

    /**
     * The nodes of a plan made from {@code g} for {@code arch}: codegen runs again (without TF32, then with it,
     * since a bundle does not record that option) and the first run that reproduces every kernel wins.
     * Otherwise (a bundle from another Kiln version) the launches it does reproduce are kept.
     */
    public static List<String> derive(Graph g, ExecutionPlan plan, String arch) {
        List<String> best = null;
        for (boolean tf32 : new boolean[] {false, true}) {
            List<String> m = match(Kernels.codegen().generateByNode(g, new CodegenOptions(tf32, arch)), plan);
            if (best == null || matched(m) > matched(best)) best = m;
            if (matched(m) == kernelLaunches(plan)) break;
        }
        return best;
    }

    private static long matched(List<String> nodes) { return nodes.stream().filter(s -> !s.isEmpty()).count(); }

    private static long kernelLaunches(ExecutionPlan plan) {
        return plan.launches().stream().filter(l -> !plan.kernels().get(l.kernel()).entry().equals(PlanBuilder.CONST_COPY_ENTRY)).count();
    }
}
