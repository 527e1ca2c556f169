package dev.kiln.ir.ops.nn;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.ir.ref.Interpreter;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Test helpers: run one node on runtime inputs (null = omitted) through the builder, verifier and interpreter. */
final class Nn {
    private Nn() {}

    static List<Tensor> run(String op, Map<String, Attr> attrs, int outputs, Tensor... inputs) {
        GraphBuilder b = new GraphBuilder("t");
        List<Value> in = new ArrayList<>();
        List<Tensor> given = new ArrayList<>();
        for (Tensor t : inputs) {
            if (t == null) { in.add(Value.NONE); continue; }
            in.add(b.input("x" + in.size(), t.type()));
            given.add(t);
        }
        List<String> names = new ArrayList<>();
        for (int i = 0; i < outputs; i++) names.add("y" + i);
        for (Value v : b.node(op, in, attrs, names, "n")) b.output(v);
        return Interpreter.run(b.build(), given);
    }

    static Tensor run1(String op, Map<String, Attr> attrs, Tensor... inputs) { return run(op, attrs, 1, inputs).get(0); }

    /** The inferred output types for graph inputs of the given types; constants (non-null) become Constant nodes. */
    static List<TensorType> infer(String op, Map<String, Attr> attrs, int outputs, List<TensorType> types, Tensor... constants) {
        GraphBuilder b = new GraphBuilder("t");
        List<Value> in = new ArrayList<>();
        for (int i = 0; i < types.size(); i++) {
            Tensor c = i < constants.length ? constants[i] : null;
            in.add(c != null ? b.constant("c" + i, c) : types.get(i) == null ? Value.NONE : b.input("x" + i, types.get(i)));
        }
        List<String> names = new ArrayList<>();
        for (int i = 0; i < outputs; i++) names.add("y" + i);
        return b.node(op, in, attrs, names, "n").stream().map(Value::type).toList();
    }

    static TensorType type(Object... dims) {
        List<dev.kiln.ir.Dim> d = new ArrayList<>();
        for (Object o : dims) d.add(o instanceof String s ? dev.kiln.ir.Dim.sym(s) : dev.kiln.ir.Dim.of(((Number) o).longValue()));
        return new TensorType(DType.F32, Shape.of(d));
    }

    static Tensor f32(long[] shape, double... v) { return Tensor.ofDoubles(DType.F32, shape, v); }

    static long[] shape(long... s) { return s; }

    /** float32 results: |got - want| <= 1e-6 + 1e-5 |want| (computed in double, rounded once to f32). */
    static void assertClose(Tensor got, long[] shape, double... want) {
        assertArrayEquals(shape, got.shape(), "shape");
        double[] g = got.toDoubles();
        for (int i = 0; i < want.length; i++)
            assertEquals(want[i], g[i], 1e-6 + 1e-5 * Math.abs(want[i]), "element " + i + " of " + got);
        assertEquals(want.length, g.length);
    }
}
