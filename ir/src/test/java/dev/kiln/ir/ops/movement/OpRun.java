package dev.kiln.ir.ops.movement;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.ir.Verifier;
import dev.kiln.ir.ref.Interpreter;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs one op through the whole IR path: GraphBuilder (shape rule), Verifier, Interpreter (reference
 * semantics), and checks that every static dim the shape rule promised matches the evaluated shape.
 * Inputs are a {@link Tensor} (a graph input), {@link #k(Tensor)} (a Constant node), a {@link TensorType}
 * (a graph input, only for {@link #infer}) or null (omitted optional input).
 */
final class OpRun {
    private OpRun() {}

    record K(Tensor value) {}

    static K k(Tensor t) { return new K(t); }

    static Tensor f32(long[] shape, double... v) { return Tensor.f32(shape, v); }
    static Tensor i64(long[] shape, long... v) { return Tensor.ofLongs(DType.I64, shape, v); }
    static Tensor i32(long[] shape, long... v) { return Tensor.ofLongs(DType.I32, shape, v); }
    static Tensor vec(long... v) { return Tensor.vector(v); }
    static long[] s(long... dims) { return dims; }
    /** 0, 1, 2, ... as f32 of the given shape. */
    static Tensor iota(long... shape) {
        double[] v = new double[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = i;
        return Tensor.f32(shape, v);
    }

    static Map<String, Attr> attrs(Object... kv) {
        Map<String, Attr> m = new java.util.HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            Object v = kv[i + 1];
            m.put((String) kv[i], switch (v) {
                case Attr a -> a;
                case Integer n -> Attr.of((long) n);
                case Long n -> Attr.of(n);
                case String s -> Attr.of(s);
                case long[] l -> Attr.ints(l);
                case Tensor t -> Attr.of(t);
                default -> throw new IllegalArgumentException(String.valueOf(v));
            });
        }
        return m;
    }

    private record Built(Graph graph, List<Value> outputs, List<Tensor> feeds) {}

    private static Built build(String op, Map<String, Attr> attrs, int outs, Object... ins) {
        GraphBuilder b = new GraphBuilder("t");
        List<Value> vs = new ArrayList<>();
        List<Tensor> feeds = new ArrayList<>();
        for (int i = 0; i < ins.length; i++) {
            switch (ins[i]) {
                case null -> vs.add(Value.NONE);
                case K c -> vs.add(b.constant("k" + i, c.value()));
                case Tensor t -> { vs.add(b.input("x" + i, t.type())); feeds.add(t); }
                case TensorType t -> vs.add(b.input("x" + i, t));
                default -> throw new IllegalArgumentException(String.valueOf(ins[i]));
            }
        }
        List<String> names = new ArrayList<>();
        for (int i = 0; i < outs; i++) names.add("out" + i);
        List<Value> o = b.node(op, vs, attrs, names, op);
        o.forEach(b::output);
        return new Built(b.build(), o, feeds);
    }

    static List<Tensor> run(String op, Map<String, Attr> attrs, int outs, Object... ins) {
        Built g = build(op, attrs, outs, ins);
        List<Tensor> r = Interpreter.run(g.graph(), g.feeds());
        for (int i = 0; i < outs; i++)
            assertTrue(Verifier.compatible(g.outputs().get(i).type(), r.get(i).type()),
                    "shape rule said " + g.outputs().get(i).type() + ", evaluation gave " + r.get(i).type());
        return r;
    }

    static Tensor run1(String op, Map<String, Attr> attrs, Object... ins) { return run(op, attrs, 1, ins).get(0); }

    static List<TensorType> inferAll(String op, Map<String, Attr> attrs, int outs, Object... ins) {
        return build(op, attrs, outs, ins).outputs().stream().map(Value::type).toList();
    }

    static TensorType infer(String op, Map<String, Attr> attrs, Object... ins) { return inferAll(op, attrs, 1, ins).get(0); }

    static TensorType type(DType t, String shape) { return new TensorType(t, parse(shape)); }

    /** "N,3,?" as a shape; "*" unranked; "" scalar. */
    static Shape parse(String s) {
        if (s.equals("*")) return Shape.UNRANKED;
        if (s.isEmpty()) return Shape.SCALAR;
        List<dev.kiln.ir.Dim> d = new ArrayList<>();
        for (String p : s.split(",")) d.add(p.equals("?") ? dev.kiln.ir.Dim.UNKNOWN
                : p.chars().allMatch(Character::isDigit) ? dev.kiln.ir.Dim.of(Long.parseLong(p)) : dev.kiln.ir.Dim.sym(p));
        return Shape.of(d);
    }

    static void assertTensor(Tensor actual, long[] shape, double... values) {
        assertArrayEquals(shape, actual.shape(), "shape");
        assertArrayEquals(values, actual.toDoubles(), 0.0, "values");
    }

    static void assertLongs(Tensor actual, DType dtype, long[] shape, long... values) {
        assertTrue(actual.dtype() == dtype, "dtype " + actual.dtype() + " != " + dtype);
        assertArrayEquals(shape, actual.shape(), "shape");
        assertArrayEquals(values, actual.toLongs(), "values");
    }
}
