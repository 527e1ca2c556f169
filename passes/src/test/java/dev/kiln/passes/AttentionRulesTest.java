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
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The Attention (3-D, past, nonpad, causal offsets) and RotaryEmbedding rules against the reference semantics:
 * random forms must leave only the kernel's 4-D Attention, and worked examples check the causal offsets and
 * the padding mask by hand; the qk_matmul_output form is written out in primitives. Tolerance f32: {@link RefCheck} (the reference rounds once from double; the
 * rewrite of Attention keeps one Attention, RotaryEmbedding rounds a few f32 products and sums).
 */
class AttentionRulesTest {
    private static final DType F = DType.F32;

    /** Single-output rule cases, also run by {@link CanonicalizePassTest}'s property. */
    static final Map<String, BiFunction<Random, GraphBuilder, Value>> CASES = new LinkedHashMap<>();

    static {
        CASES.put("RotaryEmbedding", (r, b) -> rotary(r, b));
    }

    private static Value rotary(Random r, GraphBuilder b) {
        int bsz = 1 + r.nextInt(2), h = 1 + r.nextInt(3), s = 1 + r.nextInt(4), d = 2 * (1 + r.nextInt(4));
        int rot = r.nextBoolean() ? 0 : 2 * (1 + r.nextInt(d / 2));
        int half = (rot == 0 ? d : rot) / 2;
        boolean four = r.nextBoolean(), pos = r.nextBoolean();
        Map<String, Attr> a = new HashMap<>();
        a.put("interleaved", Attr.of(r.nextInt(2)));
        if (rot != 0) a.put("rotary_embedding_dim", Attr.of(rot));
        if (!four || r.nextBoolean()) a.put("num_heads", Attr.of(h));
        Value x = b.input("x", four ? TensorType.of(F, bsz, h, s, d) : TensorType.of(F, bsz, s, (long) h * d));
        if (!pos) {
            long[] cs = {bsz, s, half};
            return b.op("RotaryEmbedding", a, x, b.constant(RefCheck.random(r, F, cs, -1, 1)), b.constant(RefCheck.random(r, F, cs, -1, 1)));
        }
        int maxPos = 1 + r.nextInt(6);
        long[] cs = {maxPos, half}, p = new long[bsz * s];
        for (int i = 0; i < p.length; i++) p[i] = r.nextInt(maxPos);
        return b.op("RotaryEmbedding", a, x, b.input("cos", TensorType.of(F, cs)), b.input("sin", TensorType.of(F, cs)),
                b.constant(Tensor.ofLongs(DType.I64, new long[] {bsz, s}, p)));
    }

    // ---- Attention ----

    /** A random Attention form; its inputs (in graph-input order) go to {@code in}. */
    private static Graph attention(Random r, List<Tensor> in) {
        int b = 1 + r.nextInt(2), hkv = 1 + r.nextInt(2), hq = hkv * (1 + r.nextInt(2)), s = 1 + r.nextInt(4), l = 1 + r.nextInt(4);
        int d = 1 + r.nextInt(4), dv = 1 + r.nextInt(4);
        boolean three = r.nextBoolean(), past = r.nextBoolean(), nonpad = r.nextInt(3) == 0, present = past && r.nextBoolean();
        boolean qk = r.nextInt(3) == 0;
        int p = past ? r.nextInt(4) : 0, t = p + l;
        GraphBuilder g = new GraphBuilder("attention");
        Map<String, Attr> a = new HashMap<>();
        if (three) { a.put("q_num_heads", Attr.of(hq)); a.put("kv_num_heads", Attr.of(hkv)); }
        if (r.nextBoolean()) a.put("is_causal", Attr.of(1));
        if (r.nextInt(3) == 0) a.put("scale", Attr.of(0.3));
        if (r.nextInt(3) == 0) a.put("softcap", Attr.of(1.5));
        if (qk) a.put("qk_matmul_output_mode", Attr.of(r.nextInt(4)));
        List<Value> ins = new ArrayList<>();
        ins.add(input(g, r, in, "q", three ? new long[] {b, s, (long) hq * d} : new long[] {b, hq, s, d}));
        ins.add(input(g, r, in, "k", three ? new long[] {b, l, (long) hkv * d} : new long[] {b, hkv, l, d}));
        ins.add(input(g, r, in, "v", three ? new long[] {b, l, (long) hkv * dv} : new long[] {b, hkv, l, dv}));
        int maskKind = r.nextInt(3); // none, bool, additive
        if (maskKind == 0) ins.add(Value.NONE);
        else {
            int rank = 2 + r.nextInt(3);
            long[] full = {b, hq, s, t}, ms = new long[rank];
            for (int i = 0; i < rank; i++) ms[i] = i == rank - 1 ? t - r.nextInt(Math.min(t, 2)) : r.nextBoolean() ? 1 : full[4 - rank + i];
            Tensor m;
            if (maskKind == 1) {
                boolean[] v = new boolean[(int) Tensor.numel(ms)];
                for (int i = 0; i < v.length; i++) v[i] = r.nextInt(4) != 0;
                m = Tensor.ofBools(ms, v);
            } else m = RefCheck.random(r, F, ms, -2, 2);
            ins.add(g.input("mask", m.type()));
            in.add(m);
        }
        if (past) {
            ins.add(input(g, r, in, "pk", new long[] {b, hkv, p, d}));
            ins.add(input(g, r, in, "pv", new long[] {b, hkv, p, dv}));
        } else { ins.add(Value.NONE); ins.add(Value.NONE); }
        if (nonpad) {
            long[] np = new long[b];
            for (int i = 0; i < b; i++) np[i] = r.nextInt(t + 1);
            Tensor nt = Tensor.ofLongs(DType.I64, new long[] {b}, np);
            ins.add(g.input("nonpad", nt.type()));
            in.add(nt);
        }
        while (ins.getLast().isNone()) ins.removeLast();
        List<String> outs = qk ? List.of("y", present ? "pk_out" : "", present ? "pv_out" : "", "qk")
                : present ? List.of("y", "pk_out", "pv_out") : List.of("y");
        List<Value> o = g.node("Attention", ins, a, outs, "");
        for (Value v : o) if (!v.isNone()) g.output(v);
        return g.build();
    }

    private static Value input(GraphBuilder g, Random r, List<Tensor> in, String name, long[] shape) {
        in.add(RefCheck.random(r, F, shape, -2, 2));
        return g.input(name, TensorType.of(F, shape));
    }

    private static void assertKernelForm(Graph out) {
        for (Node n : out.nodes()) {
            assertTrue(Primitives.isPrimitive(n), "left " + n.op() + "\n" + out);
            if (!n.op().equals("Attention")) continue;
            for (int i = 0; i < 3; i++) assertEquals(4, n.input(i).shape().rank(), "4-D Attention\n" + out);
            assertTrue(n.inputs().size() <= 4 && n.outputs().size() == 1, "no past, nonpad or extra outputs\n" + out);
            assertFalse(n.hasAttr("q_num_heads"), "no head attributes\n" + out);
        }
    }

    @Property(tries = 300)
    void attentionFormsKeepReferenceSemantics(@ForAll long seed) {
        Random r = new Random(seed);
        List<Tensor> in = new ArrayList<>();
        Graph g = attention(r, in);
        Graph out = RefCheck.run(g, new SpecializeShapes(), new Canonicalize());
        assertKernelForm(out);
        assertEquals(g.outputs(), out.outputs(), "graph interface");
        RefCheck.assertSameSemantics(g, out, in);
    }

    private static Tensor f(long[] shape, double... v) { return Tensor.ofDoubles(F, shape, v); }

    private static List<Tensor> canonicalRun(Graph g, List<Tensor> in) {
        Graph out = RefCheck.run(g, new SpecializeShapes(), new Canonicalize());
        assertKernelForm(out);
        return Interpreter.run(out, in);
    }

    /**
     * Q = 0 makes every kept key weigh the same, so each output is the mean of the kept V rows. One head, D = 1,
     * past V = [1, 2], V = [3, 10] (T = 4), is_causal: query 0 keeps keys 0..2 (offset 2) -> (1+2+3)/3 = 2;
     * query 1 keeps all -> 16/4 = 4. present_value is [1, 2, 3, 10].
     */
    @Test
    void causalWithPastOffsetsTheDiagonal() {
        GraphBuilder g = new GraphBuilder("g");
        long[] qs = {1, 1, 2, 1}, ps = {1, 1, 2, 1};
        List<Value> ins = List.of(g.input("q", TensorType.of(F, qs)), g.input("k", TensorType.of(F, qs)), g.input("v", TensorType.of(F, qs)),
                Value.NONE, g.input("pk", TensorType.of(F, ps)), g.input("pv", TensorType.of(F, ps)));
        List<Value> o = g.node("Attention", ins, Map.of("is_causal", Attr.of(1)), List.of("y", "", "pv_out"), "");
        Graph graph = g.output(o.get(0)).output(o.get(2)).build();
        List<Tensor> r = canonicalRun(graph, List.of(f(qs, 0, 0), f(qs, 5, -7), f(qs, 3, 10), f(ps, 1, 1), f(ps, 1, 2)));
        assertArrayEquals(new double[] {2, 4}, r.get(0).toDoubles(), 1e-6);
        assertArrayEquals(new double[] {1, 2, 3, 10}, r.get(1).toDoubles(), 0);
    }

    /**
     * nonpad_kv_seqlen = 3 of T = 4 keys, V = [1, 2, 3, 10], Q = 0: without causal every query averages keys
     * 0..2 -> 2; with causal (offset 3 - S = 1) query 0 keeps keys 0..1 -> 1.5 and query 1 keys 0..2 -> 2.
     */
    @Test
    void nonpadMasksTrailingKeysAndOffsetsCausal() {
        for (boolean causal : new boolean[] {false, true}) {
            GraphBuilder g = new GraphBuilder("g");
            long[] qs = {1, 1, 2, 1}, ks = {1, 1, 4, 1};
            List<Value> ins = List.of(g.input("q", TensorType.of(F, qs)), g.input("k", TensorType.of(F, ks)), g.input("v", TensorType.of(F, ks)),
                    Value.NONE, Value.NONE, Value.NONE, g.input("n", TensorType.of(DType.I64, 1)));
            Value y = g.node("Attention", ins, Map.of("is_causal", Attr.of(causal ? 1 : 0)), List.of("y"), "").get(0);
            List<Tensor> r = canonicalRun(g.output(y).build(), List.of(f(qs, 0, 0), f(ks, 1, -2, 3, 4), f(ks, 1, 2, 3, 10),
                    Tensor.ofLongs(DType.I64, new long[] {1}, new long[] {3})));
            assertArrayEquals(causal ? new double[] {1.5, 2} : new double[] {2, 2}, r.get(0).toDoubles(), 1e-6, "causal " + causal);
        }
    }

    /**
     * 3-D with 2 query heads of D = 1 sharing one kv head: Q [1,1,2] = (0, 1), K [1,2,1] = (0, ln 3),
     * V [1,2,1] = (2, 6). Head 0 (q = 0) weighs both keys alike -> 4; head 1 (q = 1) weighs them 1/4, 3/4 -> 5.
     */
    @Test
    void threeDimensionalGroupedQuery() {
        GraphBuilder g = new GraphBuilder("g");
        Value y = g.node("Attention", List.of(g.input("q", TensorType.of(F, 1, 1, 2)), g.input("k", TensorType.of(F, 1, 2, 1)),
                g.input("v", TensorType.of(F, 1, 2, 1))), Map.of("q_num_heads", Attr.of(2), "kv_num_heads", Attr.of(1)), List.of("y"), "").get(0);
        List<Tensor> r = canonicalRun(g.output(y).build(), List.of(f(new long[] {1, 1, 2}, 0, 1),
                f(new long[] {1, 2, 1}, 0, Math.log(3)), f(new long[] {1, 2, 1}, 2, 6)));
        assertArrayEquals(new long[] {1, 1, 2}, r.get(0).shape());
        assertArrayEquals(new double[] {4, 5}, r.get(0).toDoubles(), 1e-5);
    }

    @Test
    void kernelFormStays() {
        GraphBuilder g = new GraphBuilder("g");
        long[] s = {1, 1, 2, 2};
        List<Value> in = List.of(g.input("q", TensorType.of(F, s)), g.input("k", TensorType.of(F, s)), g.input("v", TensorType.of(F, s)));
        Value y = g.node("Attention", in, Map.of("is_causal", Attr.of(1)), List.of("y"), "").get(0);
        PassContext ctx = new PassContext();
        Graph out = new Canonicalize().run(g.output(y).build(), ctx);
        assertEquals(1, RefCheck.count(out, "Attention"));
        assertNull(ctx.counters().get("rule Attention"));
    }

    /**
     * The qk_matmul_output form is written out (no Attention left). Mode 3 (softmax) with Q = 0 and the bool mask
     * [[true, false], [false, false]]: row 0 weighs key 0 alone -> probabilities (1, 0), Y = V0 = 3; row 1 is
     * fully masked -> probabilities (0, 0) and Y = 0, not NaN.
     */
    @Test
    void qkOutputFormIsWrittenOut() {
        GraphBuilder g = new GraphBuilder("g");
        long[] s = {1, 1, 2, 1};
        List<Value> in = List.of(g.input("q", TensorType.of(F, s)), g.input("k", TensorType.of(F, s)), g.input("v", TensorType.of(F, s)),
                g.input("m", TensorType.of(DType.BOOL, 2, 2)));
        List<Value> o = g.node("Attention", in, Map.of("qk_matmul_output_mode", Attr.of(3)), List.of("y", "", "", "qk"), "");
        Graph graph = g.output(o.get(0)).output(o.get(3)).build();
        assertEquals(0, RefCheck.count(RefCheck.run(graph, new SpecializeShapes(), new Canonicalize()), "Attention"));
        List<Tensor> r = canonicalRun(graph, List.of(f(s, 0, 0), f(s, 1, 2), f(s, 3, 5),
                Tensor.ofBools(new long[] {2, 2}, new boolean[] {true, false, false, false})));
        assertArrayEquals(new double[] {3, 0}, r.get(0).toDoubles(), 1e-6);
        assertArrayEquals(new double[] {1, 0, 0, 0}, r.get(1).toDoubles(), 1e-6);
    }

    // ---- RotaryEmbedding worked examples ----

    /**
     * x = (1, 2, 3, 4), cos = (0, 1), sin = (1, 0): halves pair (1, 3) and (2, 4): (0·1 - 1·3, 1·1 + 0·3) = (-3, 1)
     * and (1·2 - 0, 0 + 1·4) = (2, 4) -> (-3, 2, 1, 4). Interleaved pairs (1, 2), (3, 4) -> (-2, 1, 3, 4).
     */
    @Test
    void rotaryWorkedExample() {
        for (int il = 0; il < 2; il++) {
            GraphBuilder g = new GraphBuilder("g");
            Value y = g.op("RotaryEmbedding", Map.of("interleaved", Attr.of(il)), g.input("x", TensorType.of(F, 1, 1, 1, 4)),
                    g.input("c", TensorType.of(F, 3, 2)), g.input("s", TensorType.of(F, 3, 2)), g.input("p", TensorType.of(DType.I64, 1, 1)));
            List<Tensor> r = canonicalRun(g.output(y).build(), List.of(f(new long[] {1, 1, 1, 4}, 1, 2, 3, 4),
                    f(new long[] {3, 2}, 9, 9, 0, 1, 9, 9), f(new long[] {3, 2}, 9, 9, 1, 0, 9, 9),
                    Tensor.ofLongs(DType.I64, new long[] {1, 1}, new long[] {1})));
            assertArrayEquals(il == 0 ? new double[] {-3, 2, 1, 4} : new double[] {-2, 1, 3, 4}, r.get(0).toDoubles(), 1e-6, "interleaved " + il);
        }
    }

    @Property(tries = 200)
    void rotaryFormsKeepReferenceSemantics(@ForAll long seed) {
        Random r = new Random(seed);
        GraphBuilder b = new GraphBuilder("rope");
        Graph g = b.output(rotary(r, b)).build();
        Graph out = RefCheck.run(g, new SpecializeShapes(), new Canonicalize());
        assertKernelForm(out);
        RefCheck.assertSameSemantics(g, out, RefCheck.inputs(g, r));
    }
}
