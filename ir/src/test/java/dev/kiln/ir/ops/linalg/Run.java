package dev.kiln.ir.ops.linalg;

import dev.kiln.ir.Attr;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.ir.ref.Interpreter;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Test helpers: run one op through GraphBuilder (shape rule) and the Interpreter (semantics). */
final class Run {
    private Run() {}

    /** Runs {@code op} with {@code outs} outputs on {@code in} (null = omitted input); returns the outputs. */
    static List<Tensor> op(String op, Map<String, Attr> attrs, int outs, Tensor... in) {
        GraphBuilder b = new GraphBuilder("t");
        List<Value> vals = new ArrayList<>();
        List<Tensor> feeds = new ArrayList<>();
        for (int i = 0; i < in.length; i++) {
            if (in[i] == null) { vals.add(Value.NONE); continue; }
            vals.add(b.input("x" + i, in[i].type()));
            feeds.add(in[i]);
        }
        List<Value> o = b.node(op, vals, attrs, Collections.nCopies(outs, null), "n");
        o.forEach(b::output);
        Graph g = b.build();
        return Interpreter.run(g, feeds);
    }

    static Tensor op1(String op, Map<String, Attr> attrs, Tensor... in) { return op(op, attrs, 1, in).get(0); }

    /** The inferred output types of {@code op} on inputs of the given types (null = omitted). */
    static List<TensorType> infer(String op, Map<String, Attr> attrs, int outs, TensorType... in) {
        GraphBuilder b = new GraphBuilder("t");
        List<Value> vals = new ArrayList<>();
        for (int i = 0; i < in.length; i++) vals.add(in[i] == null ? Value.NONE : b.input("x" + i, in[i]));
        return b.node(op, vals, attrs, Collections.nCopies(outs, null), "n").stream().map(Value::type).toList();
    }

    static Tensor f32(long[] shape, double... v) { return Tensor.ofDoubles(dev.kiln.ir.DType.F32, shape, v); }

    static long[] s(long... d) { return d; }

    static void close(Tensor t, long[] shape, double tol, double... want) {
        assertEquals(java.util.Arrays.toString(shape), java.util.Arrays.toString(t.shape()));
        double[] got = t.toDoubles();
        for (int i = 0; i < want.length; i++)
            assertTrue(Math.abs(got[i] - want[i]) <= tol, "element " + i + ": got " + got[i] + ", want " + want[i]);
    }
}
