package dev.kiln.passes;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.Graph;
import dev.kiln.ir.KilnException;
import dev.kiln.ir.Node;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.ir.Verifier;
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
 * Builds the rewritten copy of a graph for passes that walk it once in order: old values map to new ones,
 * copied nodes get their output types re-inferred when an input changed, new nodes get fresh names that
 * never clash with the old graph's, and a node's replacement keeps the node's output name (so graph outputs
 * keep their names). It never touches the old graph.
 */
final class Emitter {
    private static final OpRegistry REGISTRY = OpRegistry.standard();

    private final Graph old;
    private final List<Node> nodes = new ArrayList<>();
    private final Map<String, Value> map = new HashMap<>();
    private final Map<String, Node> producers = new HashMap<>();
    private final Map<String, Tensor> constants = new HashMap<>();
    private final Set<String> names = new HashSet<>();
    private final Set<String> outputNames = new HashSet<>();
    private final Set<String> freshNames = new HashSet<>();
    private final boolean alwaysReinfer;
    private int next;

    Emitter(Graph old, boolean alwaysReinfer) {
        this.old = old;
        this.alwaysReinfer = alwaysReinfer;
        for (Value v : old.inputs()) { names.add(v.name()); map.put(v.name(), v); }
        for (Node n : old.nodes()) for (Value o : n.outputs()) if (!o.isNone()) names.add(o.name());
        for (Value o : old.outputs()) outputNames.add(o.name());
    }

    Emitter(Graph old) { this(old, false); }

    private final java.util.Set<String> boundInputs = new java.util.HashSet<>();

    /** Turns a graph input into a constant of the given value (specialization on values); before any copy. */
    void bindInput(Value in, Tensor value) {
        Value c = new Value(in.name(), value.type());
        append(Node.of("Constant", List.of(), List.of(c), Map.of("value", Attr.of(value)), "bound input " + in.name()), null);
        map.put(in.name(), c);
        boundInputs.add(in.name());
    }

    /** Replaces a graph input (specialization); call before any node is copied. */
    void retypeInput(Value in, TensorType t) { map.put(in.name(), in.withType(t)); }

    /** The new value standing for an old one. */
    Value get(Value old) {
        if (old.isNone()) return Value.NONE;
        Value v = map.get(old.name());
        if (v == null) throw new IllegalStateException("value %" + old.name() + " used before it is defined");
        return v;
    }

    /** The node that defines a new value, or null for graph inputs. */
    Node producer(Value v) { return producers.get(v.name()); }

    /** The constant a new value holds, or null. */
    Tensor constant(Value v) { return v.isNone() ? null : constants.get(v.name()); }

    boolean isGraphOutput(Value old) { return outputNames.contains(old.name()); }

    private Map<String, Integer> uses; // built on first use: one scan of the old graph, not one per question

    /** How many reads of a value the old graph has (an input read twice by one node counts twice; a graph output once). */
    int uses(Value old) {
        if (uses == null) {
            uses = new HashMap<>();
            for (Node n : this.old.nodes()) for (Value i : n.inputs()) if (!i.isNone()) uses.merge(i.name(), 1, Integer::sum);
        }
        return uses.getOrDefault(old.name(), 0) + (isGraphOutput(old) ? 1 : 0);
    }

    /** Copies an old node with its inputs remapped; output types are re-inferred when an input changed. */
    Node copy(Node n) {
        List<Value> in = new ArrayList<>(n.inputs().size());
        for (Value v : n.inputs()) in.add(get(v));
        Node m = n.withInputs(in);
        // a constant input may sharpen the type (Reshape to a shape that was just folded)
        if (alwaysReinfer || !m.inputs().equals(n.inputs()) || m.inputs().anySatisfy(v -> constants.containsKey(v.name())))
            m = m.withOutputs(reinfer(m, n.outputs().castToList()));
        return append(m, n);
    }

    private List<Value> reinfer(Node m, List<Value> outs) {
        List<TensorType> types = infer(m);
        List<Value> r = new ArrayList<>(outs.size());
        for (int i = 0; i < outs.size(); i++) {
            Value o = outs.get(i);
            if (o.isNone()) { r.add(o); continue; }
            if (i >= types.size()) throw m.error(new dev.kiln.ir.ShapeException("shape rule gave no type for output " + i));
            r.add(o.withType(refine(types.get(i), o.type())));
        }
        return r;
    }

    /** The inferred type, with static sizes the old type knew and inference did not (kept from the frontend). */
    private static TensorType refine(TensorType inferred, TensorType declared) {
        if (!Verifier.compatible(inferred, declared)) return inferred;
        Shape s = inferred.shape(), d = declared.shape();
        if (!s.ranked()) return d.ranked() ? inferred.withShape(d) : inferred;
        if (!d.ranked() || s.isStatic()) return inferred;
        Dim[] dims = new Dim[s.rank()];
        for (int i = 0; i < dims.length; i++) dims[i] = s.dim(i).isStatic() || !d.dim(i).isStatic() ? s.dim(i) : d.dim(i);
        return inferred.withShape(Shape.of(dims));
    }

    private List<TensorType> infer(Node m) { return infer(m, constants, old.name()); }

    /** Output types of {@code m} from its op's shape rule (constant inputs from {@code constants}); errors name graph and node. */
    static List<TensorType> infer(Node m, Map<String, Tensor> constants, String graph) {
        OpDef def = REGISTRY.get(m.op());
        try {
            def.extraCheck().accept(m);
            return def.shapeRule().infer(Contexts.infer(m, constants::get));
        } catch (KilnException e) {
            throw e.withContext(graph, m.label(), m.op());
        }
    }

    private Node append(Node m, Node origin) {
        nodes.add(m);
        for (int i = 0; i < m.outputs().size(); i++) {
            Value o = m.output(i);
            if (o.isNone()) continue;
            producers.put(o.name(), m);
            if (origin != null) map.put(origin.output(i).name(), o);
        }
        if (m.op().equals("Constant")) constants.put(m.output(0).name(), m.attrTensor("value"));
        return m;
    }

    /** A new single-output node with a fresh name; {@code origin} labels it (the node it came from). */
    Value op(String op, Map<String, Attr> attrs, String origin, Value... in) {
        Node probe = Node.of(op, Arrays.asList(in), List.of(), attrs, origin);
        List<TensorType> types = infer(probe);
        return append(probe.withOutputs(List.of(new Value(fresh(), types.get(0)))), null).output(0);
    }

    Value op(String op, String origin, Value... in) { return op(op, Map.of(), origin, in); }

    Value constant(Tensor t) {
        Node n = Node.of("Constant", List.of(), List.of(new Value(fresh(), t.type())), Map.of("value", Attr.of(t)), "");
        return append(n, null).output(0);
    }

    Value scalar(DType dt, double v) { return constant(Tensor.scalar(dt, v)); }

    Value longs(long... v) { return constant(Tensor.vector(v)); }

    /**
     * Makes {@code result} stand for output {@code i} of old node {@code n}. When the last emitted node made
     * {@code result} under a fresh name, it is renamed to the old output's name; otherwise a graph output
     * keeps its name through an Identity and other uses are simply redirected.
     */
    void bind(Node n, int i, Value result) {
        Value o = n.output(i);
        if (o.isNone()) return;
        if (!Verifier.compatible(result.type(), o.type()) && !alwaysReinfer)
            throw new IllegalStateException("rewrite of " + n.op() + " '" + n.label() + "' gives " + result.type()
                    + " for %" + o.name() + ", which is " + o.type());
        Node last = nodes.isEmpty() ? null : nodes.getLast();
        boolean fresh = freshNames.contains(result.name());
        if (last != null && last.outputs().size() == 1 && last.output(0).equals(result) && fresh && !isTaken(o.name())) {
            nodes.removeLast();
            producers.remove(result.name());
            constants.remove(result.name());
            Value renamed = new Value(o.name(), result.type());
            append(last.withOutputs(List.of(renamed)), null);
            map.put(o.name(), renamed);
        } else if (isGraphOutput(o) && !result.name().equals(o.name())) {
            append(Node.of("Identity", List.of(result), List.of(new Value(o.name(), result.type())), Map.of(), n.origin()), null);
            map.put(o.name(), producers.get(o.name()).output(0));
        } else {
            map.put(o.name(), result);
        }
    }

    private boolean isTaken(String name) { return producers.containsKey(name); }

    /** A name unused in the old graph and in the new one. */
    String fresh() {
        String n;
        do { n = "_k" + next++; } while (names.contains(n));
        names.add(n);
        freshNames.add(n);
        return n;
    }

    Graph finish() {
        List<Value> outs = new ArrayList<>();
        for (Value o : old.outputs()) outs.add(get(o));
        return new Graph(old.name(), old.inputs().reject(v -> boundInputs.contains(v.name())).collect(this::get).castToList(), nodes, outs);
    }
}
