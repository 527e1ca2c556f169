package dev.kiln.ir;

import org.eclipse.collections.api.factory.Lists;
import org.eclipse.collections.api.factory.SortedMaps;
import org.eclipse.collections.api.list.ImmutableList;
import org.eclipse.collections.api.map.sorted.ImmutableSortedMap;

import java.util.List;
import java.util.Map;

/**
 * One op application: {@code op(inputs) {attrs} -> outputs}. Immutable; rewrites make new nodes with the
 * {@code with*} methods, which return {@code this} when nothing changes. {@code origin} names the ONNX nodes
 * this node came from (for error messages and kernel comments); it is part of equality so it round-trips.
 */
public record Node(String op, ImmutableList<Value> inputs, ImmutableList<Value> outputs,
                   ImmutableSortedMap<String, Attr> attrs, String origin) {

    public Node {
        java.util.Objects.requireNonNull(op, "op");
        java.util.Objects.requireNonNull(inputs, "inputs");
        java.util.Objects.requireNonNull(outputs, "outputs");
        java.util.Objects.requireNonNull(attrs, "attrs");
        origin = origin == null ? "" : origin;
    }

    public static Node of(String op, List<Value> inputs, List<Value> outputs, Map<String, Attr> attrs, String origin) {
        return new Node(op, Lists.immutable.withAll(inputs), Lists.immutable.withAll(outputs),
                SortedMaps.immutable.withSortedMap(new java.util.TreeMap<>(attrs)), origin);
    }

    public Value input(int i) { return i < inputs.size() ? inputs.get(i) : Value.NONE; }
    public boolean hasInput(int i) { return i < inputs.size() && !inputs.get(i).isNone(); }
    public Value output(int i) { return outputs.get(i); }

    public Node withInputs(List<Value> newInputs) {
        ImmutableList<Value> l = Lists.immutable.withAll(newInputs);
        return l.equals(inputs) ? this : new Node(op, l, outputs, attrs, origin);
    }

    public Node withOutputs(List<Value> newOutputs) {
        ImmutableList<Value> l = Lists.immutable.withAll(newOutputs);
        return l.equals(outputs) ? this : new Node(op, inputs, l, attrs, origin);
    }

    public Node withAttr(String name, Attr value) {
        return value.equals(attrs.get(name)) ? this : new Node(op, inputs, outputs, attrs.newWithKeyValue(name, value), origin);
    }

    public Node withoutAttr(String name) {
        return attrs.containsKey(name) ? new Node(op, inputs, outputs, attrs.newWithoutKey(name), origin) : this;
    }

    /** A short description for error messages: its origin if any, else its first output. */
    public String label() { return !origin.isEmpty() ? origin : outputs.isEmpty() ? op : outputs.get(0).name(); }

    // ---- typed attribute access; a wrong kind is the model's fault, so it is an InvalidModelException ----

    public boolean hasAttr(String name) { return attrs.containsKey(name); }

    public long attrInt(String name, long dflt) {
        Attr a = attrs.get(name);
        if (a == null) return dflt;
        if (a instanceof Attr.Int i) return i.value();
        throw wrongKind(name, "int", a);
    }

    public long attrInt(String name) {
        if (!attrs.containsKey(name)) throw missing(name);
        return attrInt(name, 0);
    }

    public double attrFloat(String name, double dflt) {
        Attr a = attrs.get(name);
        if (a == null) return dflt;
        if (a instanceof Attr.Float f) return f.value();
        if (a instanceof Attr.Int i) return i.value();
        throw wrongKind(name, "float", a);
    }

    public String attrString(String name, String dflt) {
        Attr a = attrs.get(name);
        if (a == null) return dflt;
        if (a instanceof Attr.Str s) return s.value();
        throw wrongKind(name, "string", a);
    }

    /** An ints attribute as a fresh array, or {@code null} when absent. */
    public long[] attrInts(String name) {
        Attr a = attrs.get(name);
        if (a == null) return null;
        if (a instanceof Attr.Ints i) return i.values().toArray();
        throw wrongKind(name, "ints", a);
    }

    public double[] attrFloats(String name) {
        Attr a = attrs.get(name);
        if (a == null) return null;
        if (a instanceof Attr.Floats f) return f.values().toArray();
        throw wrongKind(name, "floats", a);
    }

    public List<String> attrStrings(String name) {
        Attr a = attrs.get(name);
        if (a == null) return null;
        if (a instanceof Attr.Strs s) return s.values().castToList();
        throw wrongKind(name, "strings", a);
    }

    public Tensor attrTensor(String name) {
        Attr a = attrs.get(name);
        if (a == null) return null;
        if (a instanceof Attr.TensorValue t) return t.value();
        throw wrongKind(name, "tensor", a);
    }

    public InvalidModelException missing(String name) {
        return (InvalidModelException) new InvalidModelException("required attribute '" + name + "' is missing")
                .withContext(null, label(), op);
    }

    private InvalidModelException wrongKind(String name, String want, Attr got) {
        return (InvalidModelException) new InvalidModelException(
                "attribute '" + name + "' should be " + want + " but is " + got.kindName()).withContext(null, label(), op);
    }

    /** An error about this node, with its label and op filled in. */
    public <E extends KilnException> E error(E e) {
        @SuppressWarnings("unchecked") E r = (E) e.withContext(null, label(), op);
        return r;
    }
}
