package dev.kiln.ir;

import org.eclipse.collections.api.factory.Lists;
import org.eclipse.collections.api.factory.primitive.DoubleLists;
import org.eclipse.collections.api.factory.primitive.LongLists;
import org.eclipse.collections.api.list.ImmutableList;
import org.eclipse.collections.api.list.primitive.ImmutableDoubleList;
import org.eclipse.collections.api.list.primitive.ImmutableLongList;

import java.util.List;

/** A typed, immutable node attribute. ONNX float attributes are float32 and held here exactly as doubles. */
public sealed interface Attr {
    record Int(long value) implements Attr {}
    record Float(double value) implements Attr {}
    record Str(String value) implements Attr {
        public Str { java.util.Objects.requireNonNull(value); }
    }
    record Ints(ImmutableLongList values) implements Attr {}
    record Floats(ImmutableDoubleList values) implements Attr {}
    record Strs(ImmutableList<String> values) implements Attr {}
    record TensorValue(Tensor value) implements Attr {}
    /** A subgraph (If/Loop bodies); carried for import and printing, not yet executed. */
    record GraphValue(Graph value) implements Attr {}

    static Attr of(long v) { return new Int(v); }
    static Attr of(double v) { return new Float(v); }
    static Attr of(String v) { return new Str(v); }
    static Attr of(Tensor v) { return new TensorValue(v); }
    static Attr ints(long... v) { return new Ints(LongLists.immutable.of(v)); }
    static Attr floats(double... v) { return new Floats(DoubleLists.immutable.of(v)); }
    static Attr strings(List<String> v) { return new Strs(Lists.immutable.withAll(v)); }

    /** The attribute kind as the text form names it. */
    default String kindName() {
        return switch (this) {
            case Int i -> "int";
            case Float f -> "float";
            case Str s -> "string";
            case Ints i -> "ints";
            case Floats f -> "floats";
            case Strs s -> "strings";
            case TensorValue t -> "tensor";
            case GraphValue g -> "graph";
        };
    }
}
