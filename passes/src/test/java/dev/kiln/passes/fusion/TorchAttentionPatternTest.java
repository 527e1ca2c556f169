package dev.kiln.passes.fusion;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.ir.ref.Interpreter;
import dev.kiln.passes.PassContext;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** The attention form torch's SDPA export produces: both operands pre-scaled by sqrt(scale), a NaN guard. */
class TorchAttentionPatternTest {
    @Test
    void scaledOperandsAndNanGuardBecomeOneAttention() {
        GraphBuilder b = new GraphBuilder("sdpa");
        TensorType t = TensorType.of(DType.F32, 1, 2, 4, 8);
        Value q = b.input("q", t), k = b.input("k", t), v = b.input("v", t);
        Value c = b.constant("c", Tensor.scalar(DType.F32, Math.pow(8, -0.25)));
        Value kt = b.op("Transpose", Map.of("perm", Attr.ints(0, 1, 3, 2)), k);
        Value scores = b.op("MatMul", b.op("Mul", q, c), b.op("Mul", kt, c));
        Value p = b.op("Softmax", Map.of("axis", Attr.of(-1)), scores);
        Value guarded = b.op("Where", b.op("IsNaN", p), b.constant("zero", Tensor.scalar(DType.F32, 0)), p);
        b.output(b.op("MatMul", guarded, v));
        Graph g = b.build();

        PassContext ctx = new PassContext();
        Graph out = new RecognizeAttention().run(g, ctx);
        List<Node> attention = out.nodes().select(n -> n.op().equals("Attention")).castToList();
        assertEquals(1, attention.size(), ctx.summary());
        assertEquals(Math.pow(8, -0.5), attention.get(0).attrFloat("scale", 0), 1e-7); // c·c = 1/sqrt(8)
        assertTrue(out.nodes().noneSatisfy(n -> n.op().equals("IsNaN") || n.op().equals("Softmax")));

        SplittableRandom r = new SplittableRandom(3);
        List<Tensor> in = List.of(rand(r), rand(r), rand(r));
        double[] want = Interpreter.run(g, in).get(0).toDoubles(), got = Interpreter.run(out, in).get(0).toDoubles();
        for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 1e-5 + 1e-4 * Math.abs(want[i]), "element " + i);
    }

    @Test
    void guardOnASoftmaxWithOtherUsersIsLeftAlone() {
        GraphBuilder b = new GraphBuilder("shared");
        TensorType t = TensorType.of(DType.F32, 1, 1, 4, 4);
        Value q = b.input("q", t), kt = b.input("kt", t), v = b.input("v", t);
        Value p = b.op("Softmax", Map.of("axis", Attr.of(-1)), b.op("MatMul", q, kt));
        Value guarded = b.op("Where", b.op("IsNaN", p), b.constant("zero", Tensor.scalar(DType.F32, 0)), p);
        b.output(b.op("MatMul", guarded, v)).output(p); // the probabilities are a graph output too
        Graph g = b.build();
        assertTrue(new RecognizeAttention().run(g, new PassContext()).nodes().noneSatisfy(n -> n.op().equals("Attention")));
    }

    private static Tensor rand(SplittableRandom r) {
        double[] x = new double[64];
        for (int i = 0; i < x.length; i++) x[i] = r.nextDouble(-2, 2);
        return Tensor.ofDoubles(DType.F32, new long[] {1, 2, 4, 8}, x);
    }
}
