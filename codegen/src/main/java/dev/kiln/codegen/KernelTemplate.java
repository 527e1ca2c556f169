package dev.kiln.codegen;

import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;

import java.util.List;

/**
 * Makes the kernel(s) for one kernel-producing node of the fused graph (a {@code Fused} group, or a
 * primitive op left on its own). Templates are tried in priority order; a faster template for a group kind
 * is added here without touching the passes.
 */
public interface KernelTemplate {
    /** A short name for logs and kernel names, e.g. {@code elementwise}, {@code matmul-tiled}. */
    String name();

    /** Whether this template can generate code for {@code node} (with its graph for context). */
    boolean accepts(Node node, Graph graph);

    /** The kernels for {@code node}, in launch order. Must not change the IR. */
    List<KernelSpec> emit(Node node, Graph graph, CodegenContext context);
}
