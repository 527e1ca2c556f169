package dev.kiln.passes;

import dev.kiln.ir.Graph;

import java.util.Set;

/**
 * One named graph-to-graph rewrite. A pass never edits its input (the IR is immutable); it returns a new
 * graph, or the same one when nothing applied. It declares which {@link Property properties} must hold before
 * it runs and which it establishes, so the {@link PassManager} can reject a pipeline in the wrong order.
 */
public interface Pass {
    /** The kebab-case name used in logs, dumps and {@code --after NAME}, e.g. {@code fuse-elementwise}. */
    String name();

    default Set<Property> requires() { return Set.of(); }

    default Set<Property> establishes() { return Set.of(); }

    /** Properties this pass may break (they must be re-established by a later pass before use). */
    default Set<Property> invalidates() { return Set.of(); }

    Graph run(Graph graph, PassContext context);
}
