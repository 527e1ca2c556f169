package dev.kiln.passes;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Every canonicalize rule against the op's reference semantics: random shapes, attributes and data; the
 * rewritten graph holds only primitives and computes the same (f32 tolerance of {@link RefCheck}).
 */
class CanonicalizePassTest {
    private static final DType F = DType.F32;

    /** One graph per rule: builds it from a random source (shapes, attributes) and the builder. */
    static final Map<String, BiFunction<Random, GraphBuilder, Value>> CASES = new LinkedHashMap<>();

    private static long[] shape(Random r, int rank) { return RefCheck.shape(r, rank); }

    private static Value in(GraphBuilder b, String name, long... s) { return b.input(name, TensorType.of(F, s)); }

    private static Value axes(GraphBuilder b, long... a) { return b.constant(Tensor.vector(a)); }

    private static Value positive(Random r, GraphBuilder b, long... s) { return b.constant(RefCheck.random(r, F, s, 0.1, 2)); }

    private static Value param(Random r, GraphBuilder b, long... s) { return b.constant(RefCheck.random(r, F, s, -2, 2)); }

    static {
        CASES.put("Gemm", (r, b) -> {
            long m = 1 + r.nextInt(4), k = 1 + r.nextInt(4), n = 1 + r.nextInt(4);
            boolean ta = r.nextBoolean(), tb = r.nextBoolean();
            Value a = in(b, "a", ta ? k : m, ta ? m : k), w = in(b, "w", tb ? n : k, tb ? k : n);
            Value c = in(b, "c", r.nextBoolean() ? new long[] {n} : new long[] {m, n});
            return b.op("Gemm", Map.of("transA", Attr.of(ta ? 1 : 0), "transB", Attr.of(tb ? 1 : 0),
                    "alpha", Attr.of(r.nextBoolean() ? 1.0 : 0.5), "beta", Attr.of(r.nextBoolean() ? 1.0 : 2.0)), a, w, c);
        });
        CASES.put("Softmax", (r, b) -> {
            long[] s = shape(r, 1 + r.nextInt(3));
            return b.op("Softmax", Map.of("axis", Attr.of(r.nextInt(s.length) - (r.nextBoolean() ? s.length : 0))), in(b, "x", s));
        });
        CASES.put("LogSoftmax", (r, b) -> {
            long[] s = shape(r, 1 + r.nextInt(3));
            return b.op("LogSoftmax", Map.of("axis", Attr.of(r.nextInt(s.length))), in(b, "x", s));
        });
        CASES.put("LayerNormalization", (r, b) -> {
            long[] s = shape(r, 2 + r.nextInt(2));
            int axis = 1 + r.nextInt(s.length - 1);
            long[] p = java.util.Arrays.copyOfRange(s, axis, s.length);
            return b.node("LayerNormalization", List.of(in(b, "x", s), param(r, b, p), param(r, b, p)),
                    Map.of("axis", Attr.of(axis), "epsilon", Attr.of(1e-3)), null, "").get(0);
        });
        CASES.put("RMSNormalization", (r, b) -> {
            long[] s = shape(r, 2 + r.nextInt(2));
            return b.op("RMSNormalization", Map.of("epsilon", Attr.of(1e-3)), in(b, "x", s), param(r, b, s[s.length - 1]));
        });
        CASES.put("InstanceNormalization", (r, b) -> {
            long[] s = shape(r, 3 + r.nextInt(2));
            return b.op("InstanceNormalization", Map.of("epsilon", Attr.of(1e-2)), in(b, "x", s), param(r, b, s[1]), param(r, b, s[1]));
        });
        CASES.put("GroupNormalization", (r, b) -> {
            long g = 1 + r.nextInt(2);
            long[] s = {1 + r.nextInt(2), g * (1 + r.nextInt(2)), 1 + r.nextInt(3), 2};
            return b.op("GroupNormalization", Map.of("num_groups", Attr.of(g), "epsilon", Attr.of(1e-2)), in(b, "x", s), param(r, b, s[1]), param(r, b, s[1]));
        });
        CASES.put("BatchNormalization", (r, b) -> {
            long[] s = shape(r, 2 + r.nextInt(3));
            return b.op("BatchNormalization", Map.of("epsilon", Attr.of(1e-3)), in(b, "x", s), param(r, b, s[1]),
                    param(r, b, s[1]), param(r, b, s[1]), positive(r, b, s[1]));
        });
        for (String op : List.of("ReduceMean", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"))
            CASES.put(op, (r, b) -> {
                long[] s = shape(r, 1 + r.nextInt(3));
                Value x = op.equals("ReduceLogSum") ? b.input("x", TensorType.of(F, s)) : in(b, "x", s);
                Map<String, Attr> attrs = Map.of("keepdims", Attr.of(r.nextInt(2)));
                if (r.nextInt(4) == 0) return b.op(op, attrs, x); // all axes
                long a = r.nextInt(s.length);
                return b.op(op, attrs, x, axes(b, r.nextBoolean() ? a : a - s.length));
            });
        CASES.put("GlobalAveragePool", (r, b) -> b.op("GlobalAveragePool", in(b, "x", shape(r, 3 + r.nextInt(2)))));
        CASES.put("GlobalMaxPool", (r, b) -> b.op("GlobalMaxPool", in(b, "x", shape(r, 3 + r.nextInt(2)))));
        CASES.put("Flatten", (r, b) -> {
            long[] s = shape(r, 1 + r.nextInt(3));
            return b.op("Flatten", Map.of("axis", Attr.of(r.nextInt(s.length + 1))), in(b, "x", s));
        });
        CASES.put("Squeeze", (r, b) -> b.op("Squeeze", in(b, "x", 2, 1, 3), axes(b, 1)));
        CASES.put("Unsqueeze", (r, b) -> b.op("Unsqueeze", in(b, "x", shape(r, 2)), axes(b, r.nextInt(3))));
        for (String op : List.of("Sum", "Mean", "Min", "Max"))
            CASES.put(op, (r, b) -> {
                int k = 1 + r.nextInt(4);
                Value[] xs = new Value[k];
                for (int i = 0; i < k; i++) xs[i] = in(b, "x" + i, i % 2 == 0 ? new long[] {2, 3} : new long[] {3});
                return b.op(op, xs);
            });
        CASES.put("Dropout", (r, b) -> b.op("Dropout", in(b, "x", shape(r, 2)), b.constant(Tensor.scalar(F, 0.5)),
                b.constant(Tensor.ofBools(new long[0], new boolean[] {false}))));
        CASES.put("CastLike", (r, b) -> b.op("CastLike", in(b, "x", shape(r, 2)), b.input("like", TensorType.of(DType.F64, 1))));
        CASES.put("Identity", (r, b) -> b.op("Relu", b.op("Identity", in(b, "x", shape(r, 2)))));
    }

    static { CASES.putAll(CanonicalizeQuantEinsumTest.CASES); } // the quantization/Einsum/1-D MatMul rules' cases
    static { CASES.putAll(AttentionRulesTest.CASES); } // RotaryEmbedding

    @Provide Arbitrary<String> rules() { return Arbitraries.of(List.copyOf(CASES.keySet())); }

    @Property(tries = 400)
    void everyRuleKeepsReferenceSemanticsAndLeavesPrimitives(@ForAll("rules") String op, @ForAll long seed) {
        Random r = new Random(seed);
        GraphBuilder b = new GraphBuilder(op);
        Value y = CASES.get(op).apply(r, b);
        Graph g = b.output(y).build();
        Graph out = RefCheck.run(g, new SpecializeShapes(), new Canonicalize());
        for (Node n : out.nodes()) assertTrue(Primitives.isPrimitive(n), op + " left " + n.op() + "\n" + out.nodes());
        assertEquals(g.outputs(), out.outputs(), "graph interface");
        List<Tensor> in = RefCheck.inputs(g, r);
        if (op.equals("ReduceLogSum")) in = List.of(RefCheck.random(r, F, g.inputs().get(0).shape().sizes(), 0.1, 2));
        RefCheck.assertSameSemantics(g, out, in, op.endsWith("Normalization") ? NORM_ATOL : RefCheck.ATOL);
    }

    /** Normalizations (eps >= 1e-3, outputs O(1)): absolute 1e-5, see {@link RefCheck#assertSameSemantics}. */
    static final double NORM_ATOL = 1e-5;

    @Test
    void everyRuleHasACase() { assertEquals(Canonicalize.RULES.keySet(), CASES.keySet()); }

    @Test
    void ruleThatDoesNotApplyLeavesTheNode() {
        GraphBuilder b = new GraphBuilder("g");
        Value x = b.input("x", TensorType.of(DType.F64, 2, 3)); // f64 with its Mean used: no primitive form
        List<Value> ln = b.node("LayerNormalization", List.of(x, b.constant(Tensor.ofDoubles(DType.F64, new long[] {3}, new double[] {1, 1, 1}))), Map.of(),
                List.of("y", "mean"), "");
        Graph g = b.output(ln.get(0)).output(ln.get(1)).build();
        PassContext ctx = new PassContext();
        Graph out = new Canonicalize().run(g, ctx);
        assertEquals(1, RefCheck.count(out, "LayerNormalization"));
        assertEquals(1L, ctx.counters().get("left non-primitive LayerNormalization"));
    }

    @Test
    void requiresStaticShapes() {
        assertThrows(IllegalArgumentException.class, () -> new PassManager(List.of(new Canonicalize()), java.util.Set.of(),
                PassManager.Options.defaults(), Graph::toString));
    }
}
