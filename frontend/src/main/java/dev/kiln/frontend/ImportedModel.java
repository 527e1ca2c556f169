package dev.kiln.frontend;

import dev.kiln.ir.Graph;

import java.util.Map;

/**
 * An imported ONNX model: the IR graph plus the model's metadata.
 *
 * @param graph      the graph; its name is the model name, so errors from later stages name the model
 * @param opsets     imported opsets, domain ("" for ai.onnx) to version
 * @param graphName  the ONNX graph's own name
 */
public record ImportedModel(Graph graph, String modelName, long irVersion, Map<String, Long> opsets,
                            String producerName, String producerVersion, String domain, long modelVersion,
                            String docString, String graphName, Map<String, String> metadata) {

    /** The ai.onnx opset the model was written against. */
    public long opset() { return opsets.getOrDefault("", 0L); }
}
