package dev.kiln.passes.fusion;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.ir.Verifier;
import dev.kiln.passes.PassContext;
import dev.kiln.passes.PassManager;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static dev.kiln.passes.fusion.FusionTesting.*;
import static org.junit.jupiter.api.Assertions.*;

class FusionPassesTest {
    static final long B = 1, S = 4, DM = 8, H = 2, DH = 4;

    /** Layer norm as canonicalize decomposes it: ReduceSum means, (x-mean)/sqrt(var+eps)*gamma+beta. */
    static Value layerNorm(GraphBuilder b, Random r, Value x) {
        Value inv = scalar(b, 1.0 / DM);
        Value mean = b.op("Mul", reduce(b, "ReduceSum", x, -1), inv);
        Value d = b.op("Sub", x, mean);
        Value var = b.op("Mul", reduce(b, "ReduceSum", b.op("Mul", d, d), -1), inv);
        Value y = b.op("Div", d, b.op("Sqrt", b.op("Add", var, scalar(b, 1e-5))));
        return b.op("Add", b.op("Mul", y, constant(b, r, DM)), constant(b, r, DM));
    }

    static Value linear(GraphBuilder b, Random r, Value x, long in, long out) {
        return b.op("Add", b.op("MatMul", x, constant(b, r, in, out)), constant(b, r, out));
    }

    static Value heads(GraphBuilder b, Value x, long... perm) {
        Value r = b.op("Reshape", x, b.constant(Tensor.vector(B, S, H, DH)));
        return b.op("Transpose", Map.of("perm", Attr.ints(perm)), r);
    }

    /** One pre-LN transformer block with causal attention written out as primitives. */
    static Graph transformerBlock() {
        Random r = new Random(7);
        GraphBuilder b = new GraphBuilder("block");
        Value x = b.input("x", TensorType.of(DType.F32, B, S, DM));
        Value ln = layerNorm(b, r, x);
        Value q = heads(b, linear(b, r, ln, DM, DM), 0, 2, 1, 3);
        Value kt = heads(b, linear(b, r, ln, DM, DM), 0, 2, 3, 1);   // K^T directly: [B,H,D,S]
        Value v = heads(b, linear(b, r, ln, DM, DM), 0, 2, 1, 3);
        Value s = b.op("Div", b.op("MatMul", q, kt), scalar(b, Math.sqrt(DH)));
        double[] causal = new double[(int) (S * S)];
        for (int i = 0; i < S; i++) for (int j = 0; j < S; j++) causal[(int) (i * S + j)] = j <= i ? 0 : Double.NEGATIVE_INFINITY;
        Value masked = b.op("Add", s, b.constant(Tensor.f32(new long[] {S, S}, causal)));
        Value e = b.op("Exp", b.op("Sub", masked, reduce(b, "ReduceMax", masked, -1)));
        Value p = b.op("Div", e, reduce(b, "ReduceSum", e, -1));
        Value o = b.op("MatMul", p, v);
        Value merged = b.op("Reshape", b.op("Transpose", Map.of("perm", Attr.ints(0, 2, 1, 3)), o), b.constant(Tensor.vector(B, S, DM)));
        Value h = b.op("Add", linear(b, r, merged, DM, DM), x);
        Value mlp = linear(b, r, b.op("Gelu", linear(b, r, layerNorm(b, r, h), DM, 2 * DM)), 2 * DM, DM);
        return b.output(b.op("Add", mlp, h)).build();
    }

    @Test
    void transformerBlockBecomesElevenKernels() {
        Graph g = transformerBlock();
        List<PassManager.Record> rec = new ArrayList<>();
        Graph out = run(pipeline(), g, rec);
        // LN1, LN2 -> 2 row kernels; Q,K,V,O,MLP1(+Gelu),MLP2(+residual) -> 6 GEMMs; 1 attention;
        // Q, K (the new [0,2,1,3] transpose), V head splits and the head merge -> 4 movement kernels
        assertEquals(Map.of("attention", 1, "matmul", 6, "movement", 4, "reduce", 2), kernels(out));
        assertEquals("causal masks 1, attention patterns 1", rec.get(0).counters());
        assertEquals("matmul epilogues 6, ops fused 9", rec.get(1).counters());
        assertEquals("reduce groups 2, reductions fused 4, elementwise ops fused 18", rec.get(2).counters());
        assertEquals("", rec.get(3).counters());
        Node attn = out.nodes().select(n -> n.attrString("kind", "").equals("attention")).getFirst();
        Node inner = ((Attr.GraphValue) attn.attrs().get("body")).value().nodes().getFirst();
        assertEquals("Attention", inner.op());
        assertEquals(0.5, inner.attrFloat("scale", 0), 1e-7);
        assertEquals(1, inner.attrInt("is_causal", 0));
        assertEquals(3, inner.inputs().size()); // the causal mask is gone
        assertSameResults(g, out, 1, 1e-4, 1e-5);
    }

    @Test
    void convBiasReluIsOneConvKernel() {
        Random r = new Random(3);
        GraphBuilder b = new GraphBuilder("conv");
        Value x = b.input("x", TensorType.of(DType.F32, 1, 2, 5, 5));
        Value c = b.op("Conv", Map.of("pads", Attr.ints(1, 1, 1, 1)), x, constant(b, r, 3, 2, 3, 3));
        Value y = b.op("Relu", b.op("Add", c, constant(b, r, 1, 3, 1, 1)));
        Graph g = b.output(y).build();
        List<PassManager.Record> rec = new ArrayList<>();
        Graph out = run(pipeline(), g, rec);
        assertEquals(Map.of("conv", 1), kernels(out));
        assertEquals("conv epilogues 1, ops fused 2", rec.get(1).counters());
        Graph body = ((Attr.GraphValue) out.nodes().select(n -> n.op().equals("Fused")).getFirst().attrs().get("body")).value();
        // contraction groups keep non-scalar constants (weight, epilogue bias) as kernel inputs: their
        // kernels read operands from memory
        assertEquals(List.of("Conv", "Add", "Relu"), body.nodes().collect(Node::op).castToList());
        assertEquals(3, body.inputs().size());
        assertEquals("x", body.inputs().get(0).name().substring(body.inputs().get(0).name().indexOf('.') + 1));
        assertSameResults(g, out, 2, 1e-5, 1e-6);
    }

    @Test
    void attentionIsLeftAloneWhenScoresHaveAnotherUser() {
        Graph g = attention(true);
        PassContext ctx = new PassContext();
        assertSame(g, new RecognizeAttention().run(g, ctx));
        assertEquals("", ctx.summary());
        Graph ok = attention(false);
        Graph out = Verifier.verify(new RecognizeAttention().run(ok, ctx));
        assertEquals("attention patterns 1", ctx.summary());
        assertEquals(List.of("Attention"), out.nodes().reject(n -> n.op().equals("Constant")).collect(Node::op).castToList());
        assertSameResults(ok, out, 5, 1e-4, 1e-6);
    }

    /** Q K^T (K^T a Transpose of K), times 0.25, plain Softmax, times V; optionally exposing the scores. */
    static Graph attention(boolean exposeScores) {
        GraphBuilder b = new GraphBuilder("attn");
        Value q = b.input("q", TensorType.of(DType.F32, 2, 2, 3, 4));
        Value k = b.input("k", TensorType.of(DType.F32, 2, 2, 5, 4));
        Value v = b.input("v", TensorType.of(DType.F32, 2, 2, 5, 6));
        Value s = b.op("Mul", b.op("MatMul", q, b.op("Transpose", Map.of("perm", Attr.ints(0, 1, 3, 2)), k)), scalar(b, 0.25));
        b.output(b.op("MatMul", b.op("Softmax", Map.of("axis", Attr.of(-1)), s), v));
        if (exposeScores) b.output(s);
        return b.build();
    }

    @Test
    void elementwiseNeverFusesAcrossAPathThatLeavesTheGroup() {
        Random r = new Random(1);
        GraphBuilder b = new GraphBuilder("cycle");
        Value x = b.input("x", TensorType.of(DType.F32, 3, 3));
        Value a = b.op("Exp", x);
        Value m = b.op("MatMul", a, constant(b, r, 3, 3));
        Value c = b.op("Add", b.op("Neg", m), a);     // a -> MatMul -> Neg -> Add <- a
        Graph g = b.output(b.op("Tanh", c)).build();
        PassContext ctx = new PassContext();
        Graph out = Verifier.verify(new FuseElementwise().run(g, ctx));
        assertEquals("groups 1, ops fused 3", ctx.summary()); // Neg, Add, Tanh; Exp stays apart
        assertEquals(Map.of("elementwise", 1, "other:Exp", 1, "other:MatMul", 1), kernels(out));
        assertSameResults(g, out, 3, 1e-5, 1e-6);
    }

    @Test
    void valueUsedOutsideTheGroupBecomesAnExtraOutput() {
        GraphBuilder b = new GraphBuilder("extra");
        Value x = b.input("x", TensorType.of(DType.F32, 2, 3));
        Value y = b.input("y", TensorType.of(DType.F32, 3));
        Value a = b.op("Add", x, y);                 // y broadcasts
        Value t = b.op("Relu", a);
        Value red = reduce(b, "ReduceMax", a, 0);    // not a trailing axis: stays a single reduce
        Graph g = b.output(t).output(red).build();
        PassContext ctx = new PassContext();
        Graph out = Verifier.verify(new FuseReductions().run(g, ctx));
        assertSame(g, out);
        out = Verifier.verify(new FuseElementwise().run(g, ctx));
        Node f = out.nodes().select(n -> n.op().equals("Fused")).getFirst();
        assertEquals(List.of(a, t), f.outputs().castToList()); // a is read by the reduction outside the group
        assertEquals(List.of(x, y), f.inputs().castToList());
        out = Verifier.verify(new GroupSingles().run(out, ctx));
        assertEquals(Map.of("elementwise", 1, "reduce", 1), kernels(out));
        assertSameResults(g, out, 4, 1e-5, 1e-6);
    }

    /** Regression (property seed -233, size 10): both MatMul chains claimed the Add, leaving one group reading b undefined. */
    @Test
    void epilogueJoiningTwoContractionsGoesToOneGroup() {
        Random r = new Random(6);
        GraphBuilder b = new GraphBuilder("join");
        Value x = b.input("x", TensorType.of(DType.F32, 2, 3));
        Value m1 = b.op("MatMul", x, constant(b, r, 3, 3));
        Value m2 = b.op("MatMul", x, constant(b, r, 3, 3));
        Graph g = b.output(b.op("Add", m1, m2)).build();
        PassContext ctx = new PassContext();
        Graph out = Verifier.verify(new FuseEpilogues().run(g, ctx));
        assertEquals("matmul epilogues 1, ops fused 1", ctx.summary());
        assertEquals(Map.of("matmul", 1, "other:MatMul", 1), kernels(out));
        assertSameResults(g, out, 6, 1e-5, 1e-6);
        out = Verifier.verify(run(pipeline(), g, null));
        assertEquals(Map.of("matmul", 2), kernels(out));
        assertSameResults(g, out, 6, 1e-5, 1e-6);
    }

    @Test
    void overlappingGroupsAreRejected() {
        GraphBuilder b = new GraphBuilder("overlap");
        Value x = b.input("x", TensorType.of(DType.F32, 2, 3));
        Value a = b.op("Neg", x);
        Graph g = b.output(b.op("Add", a, b.op("Exp", x))).build();
        FusionGroups.Index ix = new FusionGroups.Index(g);
        List<FusionGroups.Group> groups = List.of(new FusionGroups.Group(java.util.Set.of(0, 2), "elementwise"),
                new FusionGroups.Group(java.util.Set.of(1, 2), "elementwise"));
        assertThrows(IllegalArgumentException.class, () -> FusionGroups.apply(ix, groups));
    }
}
