package dev.kiln.ir;

import dev.kiln.ir.op.Contexts;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.OpRegistry;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Builds a graph node by node, inferring each output's type from the op's shape rule. Used by the ONNX
 * frontend, by passes that make new nodes, and by users who build models in Java:
 * <pre>{@code
 * GraphBuilder b = new GraphBuilder("mlp");
 * Value x = b.input("x", TensorType.of(DType.F32, 1, 784));
 * Value h = b.op("Relu", b.op("MatMul", x, b.constant("w1", w1)));
 * b.output(h);
 * Graph g = b.build();
 * }</pre>
 */
public final class GraphBuilder {
    private final String name;
    private final OpRegistry registry;
    private final List<Value> inputs = new ArrayList<>();
    private final List<Node> nodes = new ArrayList<>();
    private final List<Value> outputs = new ArrayList<>();
    private final Set<String> names = new HashSet<>();
    private final Map<String, Tensor> constants = new HashMap<>();
    private int next;

    public GraphBuilder(String name) { this(name, OpRegistry.standard()); }

    public GraphBuilder(String name, OpRegistry registry) {
        this.name = name;
        this.registry = registry;
    }

    public Value input(String name, TensorType type) {
        Value v = new Value(claim(name), type);
        inputs.add(v);
        return v;
    }

    /** A weight or other constant, as a {@code Constant} node. */
    public Value constant(String name, Tensor value) {
        return node("Constant", List.of(), Map.of("value", Attr.of(value)), List.of(name), name).get(0);
    }

    public Value constant(Tensor value) { return constant(fresh(), value); }

    /** A single-output op with no attributes. */
    public Value op(String op, Value... in) { return node(op, Arrays.asList(in), Map.of(), null, "").get(0); }

    /** A single-output op with attributes. */
    public Value op(String op, Map<String, Attr> attrs, Value... in) { return node(op, Arrays.asList(in), attrs, null, "").get(0); }

    /**
     * The general form. {@code outputNames} may be null (fresh names, as many as the op's minimum output
     * count) and may contain "" for omitted optional outputs.
     */
    public List<Value> node(String op, List<Value> in, Map<String, Attr> attrs, List<String> outputNames, String origin) {
        OpDef def = registry.get(op);
        Node probe = Node.of(op, in, List.of(), attrs, origin);
        List<TensorType> types;
        try {
            def.extraCheck().accept(probe);
            types = def.shapeRule().infer(Contexts.infer(probe, constants::get));
        } catch (KilnException e) {
            throw e.withContext(name, probe.label(), op);
        }
        int count = outputNames == null ? def.minOutputs() : outputNames.size();
        if (count > types.size())
            throw probe.error(new ShapeException("shape rule gave " + types.size() + " output types, " + count + " are needed"));
        List<Value> outs = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            String n = outputNames == null ? null : outputNames.get(i);
            outs.add(n != null && n.isEmpty() ? Value.NONE : new Value(claim(n), types.get(i)));
        }
        Node node = probe.withOutputs(outs);
        nodes.add(node);
        if (op.equals("Constant") && node.attrTensor("value") != null) constants.put(outs.get(0).name(), node.attrTensor("value"));
        return outs;
    }

    /** Appends an already-typed node (for passes that copy nodes). */
    public Node add(Node n) {
        for (Value o : n.outputs()) if (!o.isNone()) claim(o.name());
        nodes.add(n);
        if (n.op().equals("Constant") && n.attrTensor("value") != null) constants.put(n.output(0).name(), n.attrTensor("value"));
        return n;
    }

    public GraphBuilder output(Value v) {
        outputs.add(v);
        return this;
    }

    /** The constant value of {@code v} if a Constant node in this builder defines it. */
    public Tensor constantValue(Value v) { return constants.get(v.name()); }

    /** A value name not used yet. */
    public String fresh() {
        String n;
        do { n = "v" + next++; } while (names.contains(n));
        return n;
    }

    private String claim(String n) {
        if (n == null) n = fresh();
        if (!names.add(n)) throw new InvalidModelException("value name '" + n + "' is defined twice in graph '" + name + "'");
        return n;
    }

    public boolean isDefined(String valueName) { return names.contains(valueName); }

    /** The graph, verified. */
    public Graph build() { return new Verifier(registry).check(new Graph(name, inputs, nodes, outputs)); }

    /** The graph without verification (for tests of the verifier itself). */
    public Graph buildUnchecked() { return new Graph(name, inputs, nodes, outputs); }
}
