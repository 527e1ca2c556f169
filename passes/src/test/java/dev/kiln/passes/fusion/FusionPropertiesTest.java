package dev.kiln.passes.fusion;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.ir.Verifier;
import dev.kiln.passes.Pass;
import dev.kiln.passes.PassContext;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static dev.kiln.passes.fusion.FusionTesting.*;

/**
 * Every fusion pass, alone and in the pipeline, keeps the reference results of random graphs. Tolerances:
 * f32 rtol 1e-5, atol 1e-6 (fusion reorders nothing, so results are usually bit-equal); attention rtol 1e-4,
 * atol 1e-6 (Attention computes in double and rounds once; the pattern rounds after every op).
 */
class FusionPropertiesTest {
    static final String[] UNARY = {"Neg", "Abs", "Tanh", "Sigmoid", "Relu", "Exp"};
    static final String[] BINARY = {"Add", "Sub", "Mul", "Max", "Min"};

    /** Random mix of elementwise ops, trailing-axis reductions (keepdims) and square MatMuls over [2,3] rows. */
    static Graph randomGraph(long seed, int size) {
        Random r = new Random(seed);
        GraphBuilder b = new GraphBuilder("random");
        List<Value> full = new ArrayList<>(), rows = new ArrayList<>();
        full.add(b.input("x", TensorType.of(DType.F32, 2, 3)));
        full.add(b.input("y", TensorType.of(DType.F32, 2, 3)));
        rows.add(b.input("z", TensorType.of(DType.F32, 2, 1)));
        for (int i = 0; i < size; i++) {
            Value a = full.get(r.nextInt(full.size()));
            switch (r.nextInt(7)) {
                case 0, 1 -> full.add(b.op(UNARY[r.nextInt(UNARY.length)], a.shape().numel() > 0 ? clampFor(b, a) : a));
                case 2, 3 -> {
                    Value c = r.nextInt(3) == 0 ? rows.get(r.nextInt(rows.size())) : full.get(r.nextInt(full.size()));
                    full.add(b.op(BINARY[r.nextInt(BINARY.length)], a, c));
                }
                case 4 -> rows.add(reduce(b, r.nextBoolean() ? "ReduceSum" : "ReduceMax", a, -1));
                case 5 -> full.add(b.op("Where", b.op("Greater", a, scalar(b, 0)), a, rows.get(r.nextInt(rows.size()))));
                default -> full.add(b.op("MatMul", a, constant(b, r, 3, 3)));
            }
        }
        b.output(full.getLast());
        if (r.nextBoolean()) b.output(full.get(r.nextInt(full.size())));
        b.output(rows.getLast());
        return b.build();
    }

    /** Keeps Exp from overflowing in long chains. */
    private static Value clampFor(GraphBuilder b, Value a) { return b.op("Tanh", a); }

    /** Attention patterns in their variants: scale Mul/Div/none, mask none/additive/bool, softmax plain/decomposed. */
    static Graph randomAttention(long seed) {
        Random r = new Random(seed);
        long bs = 1 + r.nextInt(2), h = 1 + r.nextInt(2), s = 1 + r.nextInt(4), l = 1 + r.nextInt(4), d = 1 + r.nextInt(4);
        GraphBuilder b = new GraphBuilder("attention");
        Value q = b.input("q", TensorType.of(DType.F32, bs, h, s, d));
        boolean kHeadsFirst = r.nextBoolean();
        Value k = b.input("k", kHeadsFirst ? TensorType.of(DType.F32, bs, h, l, d) : TensorType.of(DType.F32, bs, l, h, d));
        Value v = b.input("v", TensorType.of(DType.F32, bs, h, l, 1 + r.nextInt(3)));
        Value kt = b.op("Transpose", Map.of("perm", kHeadsFirst ? Attr.ints(0, 1, 3, 2) : Attr.ints(0, 2, 3, 1)), k);
        Value sc = b.op("MatMul", q, kt);
        sc = switch (r.nextInt(3)) {
            case 0 -> b.op("Mul", sc, scalar(b, 0.3));
            case 1 -> b.op("Div", sc, scalar(b, 1.7));
            default -> sc;
        };
        switch (r.nextInt(3)) {
            case 0 -> sc = b.op("Add", sc, constant(b, r, s, l));
            case 1 -> {
                boolean[] keep = new boolean[(int) (s * l)];
                for (int i = 0; i < keep.length; i++) keep[i] = i % l == 0 || r.nextBoolean(); // no row fully masked
                Value m = b.constant(Tensor.ofBools(new long[] {1, 1, s, l}, keep));
                sc = b.op("Where", m, sc, scalar(b, Double.NEGATIVE_INFINITY));
            }
            default -> { }
        }
        Value p;
        if (r.nextBoolean()) p = b.op("Softmax", Map.of("axis", Attr.of(-1)), sc);
        else {
            Value e = b.op("Exp", b.op("Sub", sc, reduce(b, "ReduceMax", sc, -1)));
            p = b.op("Div", e, reduce(b, "ReduceSum", e, -1));
        }
        return b.output(b.op("MatMul", p, v)).build();
    }

    static void check(Graph g, Pass p, long seed, double rtol) {
        Graph out = Verifier.verify(p.run(g, new PassContext()));
        assertSameResults(g, out, seed, rtol, 1e-6);
    }

    @Property(tries = 200)
    void eachPassKeepsRandomGraphResults(@ForAll long seed, @ForAll @IntRange(min = 1, max = 14) int size) {
        Graph g = randomGraph(seed, size);
        for (Pass p : pipeline()) check(g, p, seed, 1e-5);
        Graph out = run(pipeline(), g, null);
        assertSameResults(g, out, seed, 1e-5, 1e-6);
        for (var n : out.nodes())
            if (!n.op().equals("Constant") && !n.op().equals("Reshape") && !n.op().equals("Fused"))
                throw new AssertionError("left unfused: " + n);
    }

    @Property(tries = 200)
    void attentionIsRecognizedAndKeepsResults(@ForAll long seed) {
        Graph g = randomAttention(seed);
        PassContext ctx = new PassContext();
        Graph out = Verifier.verify(new RecognizeAttention().run(g, ctx));
        if (ctx.counters().getOrDefault("attention patterns", 0L) != 1) throw new AssertionError("not recognized: " + ctx.summary());
        assertSameResults(g, out, seed, 1e-4, 1e-6);
        Graph fused = run(pipeline(), g, null);
        assertSameResults(g, fused, seed, 1e-4, 1e-6);
    }
}
