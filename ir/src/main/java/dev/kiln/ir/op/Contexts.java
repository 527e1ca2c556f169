package dev.kiln.ir.op;

import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;

import java.util.List;
import java.util.function.Function;

/** The plain implementations of {@link InferContext} and {@link EvalContext}. */
public final class Contexts {
    private Contexts() {}

    /** @param constants looks up a constant's value by value name (null when not constant) */
    public static InferContext infer(Node node, Function<String, Tensor> constants) {
        return new InferContext() {
            @Override public Node node() { return node; }
            @Override public int numInputs() { return node.inputs().size(); }
            @Override public boolean hasInput(int i) { return node.hasInput(i); }
            @Override public TensorType inputType(int i) {
                if (!node.hasInput(i)) throw error("input " + i + " is required but omitted");
                return node.input(i).type();
            }
            @Override public Tensor constantInput(int i) {
                return node.hasInput(i) ? constants.apply(node.input(i).name()) : null;
            }
        };
    }

    public static EvalContext eval(Node node, List<Tensor> inputs) {
        return new EvalContext() {
            @Override public Node node() { return node; }
            @Override public int numInputs() { return inputs.size(); }
            @Override public boolean hasInput(int i) { return i < inputs.size() && inputs.get(i) != null; }
            @Override public Tensor input(int i) { return i < inputs.size() ? inputs.get(i) : null; }
        };
    }
}
