package dev.kiln.passes.fusion;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.passes.PassManager;
import dev.kiln.passes.Pipeline;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static dev.kiln.passes.fusion.FusionTesting.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The fuseViews pipeline (merge-parallel-matmuls, fuse-operand-views) keeps the reference results of random
 * self-attention blocks, the interpreter running the Fused bodies node by node, view ops included. Tolerance
 * rtol 1e-4, atol 1e-5: attention computes in double and rounds once where the pattern rounds after every op,
 * and the merged projections are the same dot products.
 */
class ViewFusionPropertiesTest {
    /** What a random block looks like, so tests can say which kernels must be gone. */
    record Block(Graph graph, boolean extraReaders) {}

    /**
     * x [B,S,E] -> Q, K, V projections (three MatMuls, each with or without a bias, or one [E,3E] projection
     * split GPT-2 style) -> heads [B,H,S,D] -> softmax(Q K^T * scale) V (K^T straight from the head split or
     * from K's transpose) -> head merge -> output projection + bias + x. Sometimes a head-split value or the
     * merged heads are also read by a Relu output, so chains are shared with non-contractions.
     */
    static Block randomBlock(long seed) {
        Random r = new Random(seed);
        long bs = 1 + r.nextInt(2), s = 1 + r.nextInt(4), h = 1 + r.nextInt(3), d = 1 + r.nextInt(3), e = h * d;
        GraphBuilder b = new GraphBuilder("block");
        Value x = b.input("x", TensorType.of(DType.F32, bs, s, e));
        List<Value> qkv = new ArrayList<>();
        if (r.nextInt(3) == 0) {
            Value p = b.op("Add", b.op("MatMul", x, constant(b, r, e, 3 * e)), constant(b, r, 3 * e));
            qkv.addAll(b.node("Split", List.of(p, b.constant(Tensor.vector(e, e, e))), Map.of("axis", Attr.of(2)), List.of("split_q", "split_k", "split_v"), "split"));
        } else {
            for (int i = 0; i < 3; i++) {
                Value m = b.op("MatMul", x, constant(b, r, e, e));
                qkv.add(r.nextBoolean() ? b.op("Add", m, constant(b, r, e)) : m);
            }
        }
        Value heads = b.constant(Tensor.vector(bs, s, h, d));
        Map<String, Attr> split = Map.of("perm", Attr.ints(0, 2, 1, 3));
        Value q = b.op("Transpose", split, b.op("Reshape", qkv.get(0), heads));
        Value kr = b.op("Reshape", qkv.get(1), heads);
        Value kt = r.nextBoolean() ? b.op("Transpose", Map.of("perm", Attr.ints(0, 2, 3, 1)), kr)
                : b.op("Transpose", Map.of("perm", Attr.ints(0, 1, 3, 2)), b.op("Transpose", split, kr));
        Value v = b.op("Transpose", split, b.op("Reshape", qkv.get(2), heads));
        Value sc = b.op("Mul", b.op("MatMul", q, kt), scalar(b, 1 / Math.sqrt(d)));
        Value o = b.op("MatMul", b.op("Softmax", Map.of("axis", Attr.of(-1)), sc), v);
        Value merged = b.op("Reshape", b.op("Transpose", split, o), b.constant(Tensor.vector(bs, s, e)));
        Value y = b.op("Add", b.op("Add", b.op("MatMul", merged, constant(b, r, e, e)), constant(b, r, e)), x);
        b.output(y);
        boolean extra = r.nextInt(3) == 0;
        if (extra) b.output(b.op("Relu", r.nextBoolean() ? v : merged));
        return new Block(b.build(), extra);
    }

    static Graph compile(Graph g, boolean fuseViews) {
        return new PassManager(Pipeline.standard(Map.of(), Map.of(), DType.F32, fuseViews), Set.of(), PassManager.Options.defaults(), Graph::toString).run(g);
    }

    @Property(tries = 150)
    void fusingViewsKeepsResults(@ForAll long seed) {
        Block blk = randomBlock(seed);
        Graph out = compile(blk.graph(), true);
        assertSameResults(blk.graph(), out, seed, 1e-4, 1e-5);
        Map<String, Integer> k = kernels(out);
        assertEquals(2, k.getOrDefault("matmul", 0), "one merged projection, one output projection: " + k);
        assertEquals(1, k.getOrDefault("attention", 0), k.toString());
        if (!blk.extraReaders()) assertEquals(0, k.getOrDefault("movement", 0), "no transpose or slice left: " + k);
    }

    @Property(tries = 50)
    void withoutTheOptionNothingChanges(@ForAll long seed) {
        Block blk = randomBlock(seed);
        Graph out = compile(blk.graph(), false);
        assertTrue(out.nodes().noneSatisfy(n -> n.op().equals("Fused") && n.attrString("kind", "").equals("matmul")
                && body(n).nodes().anySatisfy(m -> m.op().equals("Slice") || m.op().equals("Transpose"))), "views fused without the option");
        assertSameResults(blk.graph(), out, seed, 1e-4, 1e-5);
    }

    @Test
    void aSliceLeftOnItsOwnStaysCorrect() {
        // merged projections whose slices feed no contraction: each becomes a movement kernel reading the wide result
        Random r = new Random(7);
        GraphBuilder b = new GraphBuilder("slices");
        Value x = b.input("x", TensorType.of(DType.F32, 3, 4));
        Value a = b.op("Add", b.op("MatMul", x, constant(b, r, 4, 2)), constant(b, r, 2));
        Value c = b.op("MatMul", x, constant(b, r, 4, 5));
        b.output(b.op("Tanh", a));
        b.output(b.op("Sigmoid", c));
        b.output(c);
        Graph g = b.build();
        Graph out = compile(g, true);
        assertSameResults(g, out, 7, 1e-5, 1e-6);
        assertEquals(1, kernels(out).getOrDefault("matmul", 0), kernels(out).toString());
    }

    private static Graph body(Node fused) { return ((Attr.GraphValue) fused.attrs().get("body")).value(); }
}
