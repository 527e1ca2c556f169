package dev.kiln.ir.op;

import dev.kiln.ir.EvaluationException;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;

/** What reference semantics see: the node (attributes) and concrete input tensors. */
public interface EvalContext {
    Node node();

    int numInputs();

    boolean hasInput(int i);

    /** Input i, or null when it is omitted. */
    Tensor input(int i);

    /** An EvaluationException with the node's label and op. */
    default EvaluationException error(String message) { return node().error(new EvaluationException(message)); }
}
