package dev.kiln.ir;

/**
 * An SSA value: defined once (by a node or as a graph input), named, typed. Names are unique within a graph.
 * {@link #NONE} stands for an omitted optional input (ONNX's {@code ""}).
 */
public record Value(String name, TensorType type) {
    public static final Value NONE = new Value("", null);

    public Value {
        java.util.Objects.requireNonNull(name, "name");
        if (!name.isEmpty()) java.util.Objects.requireNonNull(type, "type of " + name);
    }

    public boolean isNone() { return name.isEmpty(); }
    public DType dtype() { return type.dtype(); }
    public Shape shape() { return type.shape(); }
    public Value withType(TensorType t) { return t.equals(type) ? this : new Value(name, t); }

    @Override public String toString() { return isNone() ? "none" : "%" + name + ":" + type; }
}
