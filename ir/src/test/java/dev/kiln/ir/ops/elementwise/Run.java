package dev.kiln.ir.ops.elementwise;

import dev.kiln.ir.Attr;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.ir.ref.Interpreter;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Test helper: one node over graph inputs, built and run through the reference interpreter. */
final class Run {
    private Run() {}

    /** Runs {@code op} on {@code inputs} (null = omitted optional input) and returns all {@code outputs} outputs. */
    static List<Tensor> node(String op, Map<String, Attr> attrs, int outputs, Tensor... inputs) {
        GraphBuilder b = new GraphBuilder("t");
        List<Value> in = new ArrayList<>();
        List<Tensor> given = new ArrayList<>();
        for (int i = 0; i < inputs.length; i++) {
            if (inputs[i] == null) { in.add(Value.NONE); continue; }
            in.add(b.input("x" + i, inputs[i].type()));
            given.add(inputs[i]);
        }
        List<String> names = new ArrayList<>();
        for (int i = 0; i < outputs; i++) names.add("y" + i);
        for (Value v : b.node(op, in, attrs, names, "n")) b.output(v);
        return Interpreter.run(b.build(), given);
    }

    static Tensor one(String op, Map<String, Attr> attrs, Tensor... inputs) { return node(op, attrs, 1, inputs).get(0); }

    static Tensor one(String op, Tensor... inputs) { return one(op, Map.of(), inputs); }

    /** The output type the shape rule gives for inputs of these types. */
    static TensorType infer(String op, Map<String, Attr> attrs, TensorType... types) {
        GraphBuilder b = new GraphBuilder("t");
        List<Value> in = new ArrayList<>();
        for (int i = 0; i < types.length; i++) in.add(b.input("x" + i, types[i]));
        return b.node(op, in, attrs, null, "n").get(0).type();
    }

    static Tensor f32(long[] shape, double... v) { return Tensor.ofDoubles(dev.kiln.ir.DType.F32, shape, v); }
    static long[] s(long... dims) { return dims; }

    static void assertDoubles(double[] want, Tensor got, double tol) {
        assertEquals(want.length, got.numel(), "element count");
        for (int i = 0; i < want.length; i++) {
            double g = got.getDouble(i);
            if (Double.isNaN(want[i])) assertEquals(Double.NaN, g, "element " + i);
            else assertEquals(want[i], g, tol, "element " + i);
        }
    }
}
