package dev.kiln.ir.ops.reduction;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.ir.ref.Interpreter;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs one op on constant inputs through GraphBuilder (shape rule) and the Interpreter (semantics). */
final class Harness {
    private Harness() {}

    /** Inputs are constants (null = omitted); also checks the inferred output types equal the computed ones. */
    static List<Tensor> run(String op, Map<String, Attr> attrs, int outputs, Tensor... ins) {
        GraphBuilder b = new GraphBuilder("t");
        List<Value> in = new ArrayList<>();
        for (Tensor t : ins) in.add(t == null ? Value.NONE : b.constant(t));
        List<String> names = new ArrayList<>();
        for (int i = 0; i < outputs; i++) names.add("out" + i);
        List<Value> outs = b.node(op, in, attrs, names, "n");
        outs.forEach(b::output);
        Graph g = b.build();
        List<Tensor> r = Interpreter.run(g, List.of());
        for (int i = 0; i < outputs; i++)
            assertEquals(outs.get(i).type(), r.get(i).type(), "inferred type of output " + i + " vs computed");
        return r;
    }

    static Tensor run1(String op, Map<String, Attr> attrs, Tensor... ins) { return run(op, attrs, 1, ins).get(0); }

    /** The output types the shape rule gives for graph inputs of the given types (null = omitted) plus constants. */
    static List<TensorType> infer(String op, Map<String, Attr> attrs, int outputs, Object... ins) {
        GraphBuilder b = new GraphBuilder("t");
        List<Value> in = new ArrayList<>();
        int k = 0;
        for (Object o : ins) {
            if (o == null) in.add(Value.NONE);
            else if (o instanceof Tensor t) in.add(b.constant(t));
            else in.add(b.input("x" + k++, (TensorType) o));
        }
        List<String> names = new ArrayList<>();
        for (int i = 0; i < outputs; i++) names.add("out" + i);
        return b.node(op, in, attrs, names, "n").stream().map(Value::type).toList();
    }

    static Tensor f32(long[] shape, double... v) { return Tensor.ofDoubles(DType.F32, shape, v); }
    static Tensor f64(long[] shape, double... v) { return Tensor.ofDoubles(DType.F64, shape, v); }
    static long[] s(long... d) { return d; }

    static void assertClose(double[] want, Tensor got, double rtol) {
        double[] g = got.toDoubles();
        assertEquals(want.length, g.length, "element count of " + got);
        for (int i = 0; i < want.length; i++) {
            if (Double.isNaN(want[i]) || Double.isInfinite(want[i])) {
                assertEquals(want[i], g[i], "element " + i + " of " + got);
                continue;
            }
            double tol = 1e-7 + rtol * Math.abs(want[i]);
            assertTrue(Math.abs(want[i] - g[i]) <= tol, "element " + i + ": want " + want[i] + " got " + g[i] + " in " + got);
        }
    }

    static void assertShape(Tensor t, long... shape) { assertArrayEquals(shape, t.shape(), "shape of " + t); }

}
