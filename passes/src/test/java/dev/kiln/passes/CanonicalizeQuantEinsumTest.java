package dev.kiln.passes;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.ir.ref.Interpreter;
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
 * The quantization, 1-D MatMul, Einsum, empty-axes reduction and multi-output (DynamicQuantizeLinear,
 * LayerNormalization with statistics, Dropout with mask) rules against the reference semantics. Tolerances:
 * integer outputs exactly; f32 those of {@link RefCheck}; f16 outputs (dequantize) one f16 ulp of relative error
 * (the decomposition rounds the f32 product to f16, the reference the exact one).
 */
class CanonicalizeQuantEinsumTest {
    private static final DType F = DType.F32;

    /** Single-output rule cases, also run by {@link CanonicalizePassTest}'s property (one graph per rule). */
    static final Map<String, BiFunction<Random, GraphBuilder, Value>> CASES = new LinkedHashMap<>();

    private static long[] shape(Random r, int rank) { return RefCheck.shape(r, rank); }

    private static Tensor ints(Random r, DType t, long[] s) {
        double lo = t.isUnsigned() ? 0 : -Math.scalb(1.0, t.bits() - 1), hi = t.isUnsigned() ? Math.scalb(1.0, t.bits()) - 1 : -lo - 1;
        double[] v = new double[(int) Tensor.numel(s)];
        for (int i = 0; i < v.length; i++) v[i] = lo + Math.floor(r.nextDouble() * (hi - lo + 1));
        return Tensor.ofDoubles(t, s, v);
    }

    private static final List<DType> QTYPES = List.of(DType.U8, DType.I8, DType.U16, DType.I16);

    /** Per-tensor (scalar or [1]) or per-axis parameters; the axis attribute (maybe negative) for the latter. */
    private static long[] paramShape(Random r, long[] x, Map<String, Attr> attrs) {
        int k = r.nextInt(3);
        if (k == 0 || x.length == 0) return new long[0];
        if (k == 1) { attrs.put("axis", Attr.of(0)); return new long[] {1}; } // default axis 1 must exist in x
        int axis = r.nextInt(x.length);
        attrs.put("axis", Attr.of(r.nextBoolean() ? axis : axis - x.length));
        return new long[] {x[axis]};
    }

    static {
        CASES.put("DequantizeLinear", (r, b) -> {
            long[] s = shape(r, r.nextInt(4));
            DType t = List.of(DType.U8, DType.I8, DType.U16, DType.I16, DType.I32).get(r.nextInt(5));
            Map<String, Attr> attrs = new LinkedHashMap<>();
            long[] p = paramShape(r, s, attrs);
            Value x = b.input("x", TensorType.of(t, s));
            Value scale = b.constant(RefCheck.random(r, F, p, 0.01, 2));
            if (r.nextBoolean() || t == DType.I32) return b.op("DequantizeLinear", attrs, x, scale);
            return b.op("DequantizeLinear", attrs, x, scale, b.constant(ints(r, t, p)));
        });
        CASES.put("QuantizeLinear", (r, b) -> {
            long[] s = shape(r, r.nextInt(4));
            DType t = QTYPES.get(r.nextInt(4));
            Map<String, Attr> attrs = new LinkedHashMap<>();
            long[] p = paramShape(r, s, attrs);
            // inputs span [-2, 2]; small scales saturate, larger ones do not
            Value x = b.input("x", TensorType.of(F, s));
            Value scale = b.constant(RefCheck.random(r, F, p, r.nextBoolean() ? 1e-4 : 0.01, 0.5));
            if (r.nextInt(3) == 0 && t == DType.U8) return b.op("QuantizeLinear", attrs, x, scale);
            return b.op("QuantizeLinear", attrs, x, scale, b.constant(ints(r, t, p)));
        });
        CASES.put("MatMul", (r, b) -> {
            long k = 1 + r.nextInt(4);
            long[] batch = shape(r, r.nextInt(3));
            long[] other = java.util.Arrays.copyOf(batch, batch.length + 2);
            other[batch.length] = 1 + r.nextInt(3);
            other[batch.length + 1] = 1 + r.nextInt(3);
            int form = r.nextInt(3); // 0: 1-D left, 1: 1-D right, 2: both 1-D
            if (form == 0) other[batch.length] = k; else other[batch.length + 1] = k;
            Value a = b.input("a", TensorType.of(F, form == 1 ? other : new long[] {k}));
            Value c = b.input("b", TensorType.of(F, form == 0 ? other : new long[] {k}));
            return b.op("MatMul", a, c);
        });
        CASES.put("Einsum", (r, b) -> {
            long i = 1 + r.nextInt(3), j = 1 + r.nextInt(3), k = 1 + r.nextInt(3), bb = 1 + r.nextInt(3), c = 1 + r.nextInt(2);
            int form = r.nextInt(9);
            String eq = List.of("ij->ji", "bij,bjk->bik", "ij,jk->ik", "...ij,...jk->...ik", "ij->i", "ij->j", "bij,bkj->bki",
                    "ij,ij", "ji").get(form); // the last two with implicit outputs: "" (a scalar) and "ij" (a transpose)
            Value x = b.input("x", TensorType.of(F, switch (form) {
                case 1, 6 -> new long[] {bb, i, j};
                case 3 -> new long[] {c, bb, i, j};
                default -> new long[] {i, j};
            }));
            if (form == 0 || form == 4 || form == 5 || form == 8) return b.op("Einsum", Map.of("equation", Attr.of(eq)), x);
            Value y = b.input("y", TensorType.of(F, switch (form) {
                case 1 -> new long[] {bb, j, k};
                case 6 -> new long[] {bb, k, j};
                case 7 -> new long[] {i, j};
                case 3 -> new long[] {c, bb, j, k};
                default -> new long[] {j, k};
            }));
            return b.op("Einsum", Map.of("equation", Attr.of(eq)), x, y);
        });
        for (String op : List.of("ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd"))
            CASES.put(op, (r, b) -> {
                Value x = b.input("x", TensorType.of(F, shape(r, 1 + r.nextInt(3))));
                Value axes = b.input("axes", TensorType.of(DType.I64, 0)); // a runtime input, always empty
                return b.op(op, Map.of("keepdims", Attr.of(r.nextInt(2)), "noop_with_empty_axes", Attr.of(r.nextInt(4) == 0 ? 1 : 0)), x, axes);
            });
    }

    // ---- the multi-output rules ----

    static final Map<String, java.util.function.Function<Random, Graph>> MULTI = new LinkedHashMap<>();
    static {
        MULTI.put("DynamicQuantizeLinear", r -> {
            GraphBuilder b = new GraphBuilder("dq");
            List<Value> o = b.node("DynamicQuantizeLinear", List.of(b.input("x", TensorType.of(F, shape(r, 1 + r.nextInt(3))))),
                    Map.of(), List.of("y", "s", "z"), "");
            return b.output(o.get(0)).output(o.get(1)).output(o.get(2)).build();
        });
        MULTI.put("LayerNormalization", r -> {
            GraphBuilder b = new GraphBuilder("ln");
            long[] s = shape(r, 2 + r.nextInt(2));
            int axis = 1 + r.nextInt(s.length - 1);
            long[] p = java.util.Arrays.copyOfRange(s, axis, s.length);
            List<Value> o = b.node("LayerNormalization", List.of(b.input("x", TensorType.of(F, s)),
                    b.constant(RefCheck.random(r, F, p, -2, 2)), b.constant(RefCheck.random(r, F, p, -2, 2))),
                    Map.of("axis", Attr.of(r.nextBoolean() ? axis : axis - s.length), "epsilon", Attr.of(1e-3)),
                    List.of("y", "mean", "inv"), "");
            b.output(o.get(0));
            if (r.nextBoolean()) b.output(o.get(1));
            return b.output(o.get(2)).build();
        });
        MULTI.put("Dropout", r -> {
            GraphBuilder b = new GraphBuilder("do");
            List<Value> in = r.nextBoolean() ? List.of(b.input("x", TensorType.of(F, shape(r, 2))))
                    : List.of(b.input("x", TensorType.of(F, shape(r, 2))), b.constant(Tensor.scalar(F, 0.5)),
                            b.constant(Tensor.ofBools(new long[0], new boolean[] {false})));
            List<Value> o = b.node("Dropout", in, Map.of(), List.of("y", "mask"), "");
            // the mask as a graph output (computed from x) or used inside (a constant)
            if (r.nextBoolean()) return b.output(b.op("Relu", o.get(0))).output(o.get(1)).build();
            return b.output(b.op("Where", o.get(1), o.get(0), b.constant(Tensor.scalar(F, -1)))).build();
        });
    }

    @Provide Arbitrary<String> multi() { return Arbitraries.of(List.copyOf(MULTI.keySet())); }

    @Property(tries = 150)
    void multiOutputRulesKeepEveryOutput(@ForAll("multi") String op, @ForAll long seed) {
        Random r = new Random(seed);
        Graph g = MULTI.get(op).apply(r);
        Graph out = RefCheck.run(g, new SpecializeShapes(), new Canonicalize());
        for (Node n : out.nodes()) assertTrue(Primitives.isPrimitive(n), op + " left " + n.op() + "\n" + out.nodes());
        assertEquals(g.outputs(), out.outputs(), "graph interface");
        RefCheck.assertSameSemantics(g, out, RefCheck.inputs(g, r), CanonicalizePassTest.NORM_ATOL);
    }

    @Test
    void everyRuleHasACase() { // Attention's cases are in AttentionRulesTest
        assertEquals(Canonicalize.MULTI_RULES.keySet().stream().filter(k -> !k.equals("Split") && !k.equals("Attention")).toList(), List.copyOf(MULTI.keySet()));
        for (String k : CASES.keySet()) assertTrue(Canonicalize.RULES.containsKey(k), k);
    }

    // ---- worked examples ----

    private static List<Tensor> canonicalRun(Graph g, Tensor... in) {
        Graph out = RefCheck.run(g, new SpecializeShapes(), new Canonicalize());
        for (Node n : out.nodes()) assertTrue(Primitives.isPrimitive(n), "left " + n.op());
        return Interpreter.run(out, List.of(in));
    }

    @Test
    void dynamicQuantizeLinearOnnxExample() {
        // ONNX's example: x in [-3, 2] -> scale 5/255, zero point round(3 / (5/255)) = round(153) = 153
        Graph g = MULTI.get("DynamicQuantizeLinear").apply(new Random(0)); // shape ignored: bind x below
        GraphBuilder b = new GraphBuilder("dq");
        List<Value> o = b.node("DynamicQuantizeLinear", List.of(b.input("x", TensorType.of(F, 6))), Map.of(), List.of("y", "s", "z"), "");
        g = b.output(o.get(0)).output(o.get(1)).output(o.get(2)).build();
        List<Tensor> r = canonicalRun(g, Tensor.ofDoubles(F, new long[] {6}, new double[] {0, 2, -3, -2.5, 1.34, 0.5}));
        assertArrayEquals(new double[] {153, 255, 0, 26, 221, 179}, r.get(0).toDoubles());
        assertEquals((float) (5.0 / 255), (float) r.get(1).getDouble(0));
        assertEquals(153, r.get(2).getDouble(0));
        // all zero: scale 0, zero point 0, y 0 (no division by zero leaks out)
        r = canonicalRun(g, Tensor.ofDoubles(F, new long[] {6}, new double[6]));
        assertArrayEquals(new double[6], r.get(0).toDoubles());
        assertEquals(0, r.get(1).getDouble(0));
    }

    @Test
    void quantizeLinearRoundsHalfToEvenAndSaturates() {
        GraphBuilder b = new GraphBuilder("q");
        Value x = b.input("x", TensorType.of(F, 6));
        Value y = b.op("QuantizeLinear", x, b.constant(Tensor.scalar(F, 0.5)), b.constant(Tensor.scalar(DType.I8, 1)));
        Graph g = b.output(y).build();
        // x/0.5 = 2.5, 3.5, -2.5, 300, -300, 0.5 -> rint 2, 4, -2, 300, -300, 0 -> +1 -> clip [-128, 127]
        List<Tensor> r = canonicalRun(g, Tensor.ofDoubles(F, new long[] {6}, new double[] {1.25, 1.75, -1.25, 150, -150, 0.25}));
        assertEquals(DType.I8, r.get(0).dtype());
        assertArrayEquals(new double[] {3, 5, -1, 127, -128, 1}, r.get(0).toDoubles());
    }

    @Test
    void dequantizeLinearPerAxis() {
        GraphBuilder b = new GraphBuilder("dq");
        Value x = b.input("x", TensorType.of(DType.U8, 2, 3));
        Value y = b.op("DequantizeLinear", Map.of("axis", Attr.of(1)), x, b.constant(Tensor.f32(new long[] {3}, 1, 0.5f, 2)),
                b.constant(Tensor.ofDoubles(DType.U8, new long[] {3}, new double[] {0, 10, 255})));
        // columns: (x - 0)·1, (x - 10)·0.5, (x - 255)·2
        List<Tensor> r = canonicalRun(b.output(y).build(), Tensor.ofDoubles(DType.U8, new long[] {2, 3}, new double[] {7, 20, 255, 0, 0, 0}));
        assertArrayEquals(new double[] {7, 5, 0, 0, -5, -510}, r.get(0).toDoubles());
    }

    @Test
    void dequantizeLinearToF16WithinOneUlp() {
        GraphBuilder b = new GraphBuilder("dq");
        Value x = b.input("x", TensorType.of(DType.I16, 64));
        Value y = b.op("DequantizeLinear", x, b.constant(Tensor.scalar(DType.F16, 0.0123)));
        Graph g = b.output(y).build();
        Random rnd = new Random(3);
        Tensor in = ints(rnd, DType.I16, new long[] {64});
        Tensor want = Interpreter.run(g, List.of(in)).get(0), got = canonicalRun(g, in).get(0);
        assertEquals(DType.F16, got.dtype());
        for (int i = 0; i < 64; i++)
            assertEquals(want.getDouble(i), got.getDouble(i), Math.abs(want.getDouble(i)) * 0x1p-10, "element " + i);
    }

    @Test
    void blockedDequantizeStays() {
        GraphBuilder b = new GraphBuilder("dq");
        Value x = b.input("x", TensorType.of(DType.U8, 2, 4));
        Value y = b.op("DequantizeLinear", Map.of("axis", Attr.of(1), "block_size", Attr.of(2)), x,
                b.constant(Tensor.f32(new long[] {2, 2}, 1, 2, 3, 4)));
        PassContext ctx = new PassContext();
        Graph out = new Canonicalize().run(b.output(y).build(), ctx);
        assertEquals(1, RefCheck.count(out, "DequantizeLinear"));
        assertEquals(1L, ctx.counters().get("left non-primitive DequantizeLinear"));
    }

    @Test
    void einsumMatmulByHand() {
        GraphBuilder b = new GraphBuilder("e");
        Value x = b.input("x", TensorType.of(F, 2, 2)), y = b.input("y", TensorType.of(F, 2, 2));
        Graph g = b.output(b.op("Einsum", Map.of("equation", Attr.of("ij,jk->ki")), x, y)).build();
        // [[1,2],[3,4]] @ [[5,6],[7,8]] = [[19,22],[43,50]], transposed
        List<Tensor> r = canonicalRun(g, Tensor.f32(new long[] {2, 2}, 1, 2, 3, 4), Tensor.f32(new long[] {2, 2}, 5, 6, 7, 8));
        assertArrayEquals(new double[] {19, 43, 22, 50}, r.get(0).toDoubles());
    }

    @Test
    void einsumDiagonalStays() {
        GraphBuilder b = new GraphBuilder("e");
        Value x = b.input("x", TensorType.of(F, 3, 3));
        PassContext ctx = new PassContext();
        Graph out = new Canonicalize().run(b.output(b.op("Einsum", Map.of("equation", Attr.of("ii->i")), x)).build(), ctx);
        assertEquals(1, RefCheck.count(out, "Einsum"));
    }

    @Test
    void matMulVectorVectorIsAScalar() {
        GraphBuilder b = new GraphBuilder("m");
        Value x = b.input("x", TensorType.of(F, 3)), y = b.input("y", TensorType.of(F, 3));
        List<Tensor> r = canonicalRun(b.output(b.op("MatMul", x, y)).build(), Tensor.f32(new long[] {3}, 1, 2, 3), Tensor.f32(new long[] {3}, 4, 5, 6));
        assertArrayEquals(new long[0], r.get(0).shape());
        assertEquals(32, r.get(0).getDouble(0));
    }

    @Test
    void reduceMeanWithEmptyRuntimeAxesReducesAll() {
        GraphBuilder b = new GraphBuilder("r");
        Value x = b.input("x", TensorType.of(F, 2, 2)), axes = b.input("axes", TensorType.of(DType.I64, 0));
        Graph g = b.output(b.op("ReduceMean", x, axes)).build();
        List<Tensor> r = canonicalRun(g, Tensor.f32(new long[] {2, 2}, 1, 2, 3, 6), Tensor.ofLongs(DType.I64, new long[] {0}, new long[0]));
        assertArrayEquals(new long[] {1, 1}, r.get(0).shape());
        assertEquals(3, r.get(0).getDouble(0));
    }
}
