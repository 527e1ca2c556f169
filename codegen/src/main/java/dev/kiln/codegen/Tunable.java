package dev.kiln.codegen;

import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;

import java.util.List;

/**
 * A template whose kernels come in variants (tile configs, split-K...) for one node. Codegen asks the
 * {@link CodegenContext} for a chosen variant by the node's problem key and falls back to the template's own
 * heuristic; the autotune stage (api's {@code Autotune}) times the candidates on the GPU and fills the choices.
 */
public interface Tunable {
    /**
     * What decides the best variant: op, shapes, dtypes, layouts, epilogue shape; never value names or weight
     * contents, so every layer of a model with the same shapes shares one key and one choice.
     */
    String problemKey(Node node, Graph graph, CodegenContext context);

    /** Variant names for {@code node}, the heuristic's choice first; each can be passed back through the context. */
    List<String> candidates(Node node, Graph graph, CodegenContext context);

    /**
     * The template's cost model for {@code variant} on {@code node}, in microseconds, or NaN where it has none.
     * Only the ratios between one node's variants matter: the autotuner's {@code fast} mode leaves out
     * candidates the model already rules out.
     */
    default double estimate(Node node, Graph graph, CodegenContext context, String variant) { return Double.NaN; }
}
