package dev.kiln.exec;

import dev.kiln.codegen.Codegen;
import dev.kiln.codegen.KernelTemplate;
import dev.kiln.ir.Node;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Which nodes are views and which kernel templates codegen tries: the ONE factory for {@link Codegen}.
 * Templates are found with {@link ServiceLoader} ({@code META-INF/services/dev.kiln.codegen.KernelTemplate}),
 * so the template modules register themselves; list them here explicitly to fix their priority.
 */
public final class Kernels {
    private Kernels() {}

    /** Nodes whose output aliases their input's bytes: no kernel, same arena slot (docs/primitives.md: Reshape). */
    public static boolean isView(Node n) { return n.op().equals("Reshape"); }

    public static List<KernelTemplate> templates() {
        // the specific contraction templates first; templates found as services (tests, plug-ins) last
        List<KernelTemplate> found = new ArrayList<>(List.of(
                new dev.kiln.codegen.kernels.contract.AttentionTemplate(),
                new dev.kiln.codegen.kernels.contract.MatMulTemplate(),
                new dev.kiln.codegen.kernels.contract.ConvTemplate(),
                new dev.kiln.codegen.kernels.contract.PoolTemplate()));
        // elementwise before movement, so a lone Identity gets the elementwise kernel
        found.addAll(dev.kiln.codegen.kernels.ew.EwTemplates.all());
        ServiceLoader.load(KernelTemplate.class, Kernels.class.getClassLoader()).forEach(found::add);
        return found;
    }

    public static Codegen codegen() { return new Codegen(templates(), Kernels::isView); }
}
