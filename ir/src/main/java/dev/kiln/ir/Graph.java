package dev.kiln.ir;

import org.eclipse.collections.api.factory.Lists;
import org.eclipse.collections.api.list.ImmutableList;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A function in SSA form: named inputs, nodes in topological order, outputs. Weights are {@code Constant}
 * nodes whose {@code value} attribute holds the tensor. Immutable: passes build new graphs with
 * {@link #withNodes} and friends. Equality is structural (names, types, nodes, attributes, tensors).
 */
public final class Graph {
    private final String name;
    private final ImmutableList<Value> inputs;
    private final ImmutableList<Value> outputs;
    private final ImmutableList<Node> nodes;
    private volatile Map<String, Node> producers; // derived, built on first use

    public Graph(String name, Iterable<Value> inputs, Iterable<Node> nodes, Iterable<Value> outputs) {
        this.name = name == null ? "" : name;
        this.inputs = Lists.immutable.withAll(inputs);
        this.nodes = Lists.immutable.withAll(nodes);
        this.outputs = Lists.immutable.withAll(outputs);
    }

    public String name() { return name; }
    public ImmutableList<Value> inputs() { return inputs; }
    public ImmutableList<Value> outputs() { return outputs; }
    public ImmutableList<Node> nodes() { return nodes; }

    public Graph withNodes(Iterable<Node> newNodes) { return new Graph(name, inputs, newNodes, outputs); }
    public Graph withOutputs(Iterable<Value> newOutputs) { return new Graph(name, inputs, nodes, newOutputs); }
    public Graph withInputs(Iterable<Value> newInputs) { return new Graph(name, newInputs, nodes, outputs); }
    public Graph withName(String newName) { return new Graph(newName, inputs, nodes, outputs); }

    /** The node defining a value, or null for graph inputs and unknown names. */
    public Node producer(Value v) { return producerMap().get(v.name()); }

    private Map<String, Node> producerMap() {
        Map<String, Node> m = producers;
        if (m == null) {
            m = new HashMap<>();
            for (Node n : nodes) for (Value o : n.outputs()) if (!o.isNone()) m.put(o.name(), n);
            producers = m;
        }
        return m;
    }

    /** The constant tensor a value holds, if a {@code Constant} node defines it. */
    public Tensor constantValue(Value v) {
        Node n = producer(v);
        return n != null && n.op().equals("Constant") ? n.attrTensor("value") : null;
    }

    /** Nodes that read value {@code v}. */
    public List<Node> users(Value v) {
        return nodes.select(n -> n.inputs().anySatisfy(i -> i.name().equals(v.name()))).castToList();
    }

    @Override public boolean equals(Object o) {
        return o instanceof Graph g && g.name.equals(name) && g.inputs.equals(inputs)
                && g.outputs.equals(outputs) && g.nodes.equals(nodes);
    }

    @Override public int hashCode() { return ((name.hashCode() * 31 + inputs.hashCode()) * 31 + outputs.hashCode()) * 31 + nodes.size(); }

    @Override public String toString() {
        return "Graph " + name + " (" + inputs.size() + " inputs, " + nodes.size() + " nodes, " + outputs.size() + " outputs)";
    }
}
