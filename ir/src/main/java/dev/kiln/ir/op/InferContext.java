package dev.kiln.ir.op;

import dev.kiln.ir.Node;
import dev.kiln.ir.ShapeException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;

/** What a shape rule sees: the node (attributes), its input types, and input values that are constants. */
public interface InferContext {
    Node node();

    int numInputs();

    /** True when input i is given (not omitted). */
    boolean hasInput(int i);

    /** The type of input i; throws a ShapeException naming the node if it is omitted. */
    TensorType inputType(int i);

    /** The value of input i when it is a compile-time constant, else null. */
    Tensor constantInput(int i);

    /** A ShapeException with the node's label and op. */
    default ShapeException error(String message) { return node().error(new ShapeException(message)); }
}
