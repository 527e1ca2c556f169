package dev.kiln.ir.op;

import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Everything about one IR op in one place: its name, traits, arity, shape/type rule, reference (CPU)
 * semantics and, for elementwise ops, the C expression codegen uses. IR ops that carry an ONNX name follow
 * the newest ONNX signature of that op (inputs and attributes as in the newest opset); the frontend upgrades
 * older opsets into that form.
 *
 * @param cExpr for elementwise ops, a C expression over {@code $0}, {@code $1}... (the operands, already in
 *              the compute type) e.g. {@code "fmaxf($0, 0.f)"}; null when codegen does not use one
 */
public record OpDef(String name, Set<Trait> traits, int minInputs, int maxInputs, int minOutputs, int maxOutputs,
                    ShapeRule shapeRule, Semantics semantics, String cExpr, Consumer<Node> extraCheck) {

    /** Computes output types from input types (and constant inputs). Must not evaluate non-constant data. */
    @FunctionalInterface
    public interface ShapeRule { List<TensorType> infer(InferContext ctx); }

    /** The reference semantics: concrete outputs from concrete inputs. Exact for integers. */
    @FunctionalInterface
    public interface Semantics { List<Tensor> eval(EvalContext ctx); }

    public static final int VARIADIC = Integer.MAX_VALUE;

    public boolean has(Trait t) { return traits.contains(t); }

    public static Builder op(String name) { return new Builder(name); }

    /** Fluent definition: {@code op("Relu").traits(ELEMENTWISE).inputs(1).outputs(1).infer(..).eval(..).c("..")}. */
    public static final class Builder {
        private final String name;
        private final EnumSet<Trait> traits = EnumSet.noneOf(Trait.class);
        private int minIn = 1, maxIn = 1, minOut = 1, maxOut = 1;
        private ShapeRule rule;
        private Semantics semantics;
        private String cExpr;
        private Consumer<Node> check = n -> {};

        private Builder(String name) { this.name = name; }

        public Builder traits(Trait... ts) { traits.addAll(List.of(ts)); return this; }
        public Builder inputs(int n) { return inputs(n, n); }
        public Builder inputs(int min, int max) { minIn = min; maxIn = max; return this; }
        public Builder outputs(int n) { return outputs(n, n); }
        public Builder outputs(int min, int max) { minOut = min; maxOut = max; return this; }
        public Builder infer(ShapeRule r) { rule = r; return this; }
        public Builder eval(Semantics s) { semantics = s; return this; }
        public Builder c(String expr) { cExpr = expr; return this; }
        /** An extra verifier check on the node (attribute ranges and the like); throw a KilnException. */
        public Builder check(Consumer<Node> c) { check = c; return this; }

        public OpDef build() {
            if (rule == null) throw new IllegalStateException("op " + name + " has no shape rule");
            if (semantics == null) throw new IllegalStateException("op " + name + " has no reference semantics");
            return new OpDef(name, Set.copyOf(traits.isEmpty() ? EnumSet.noneOf(Trait.class) : traits), minIn, maxIn,
                    minOut, maxOut, rule, semantics, cExpr, check);
        }
    }
}
