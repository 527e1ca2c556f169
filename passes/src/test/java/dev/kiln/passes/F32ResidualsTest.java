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
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * convert-precision's f32 residual stream on random pre-LN transformer stacks (x = x + attn(LN(x)),
 * x = x + mlp(LN(x)), a final LN): with the stream in f32 the f16 result (reference interpreter, every op
 * rounded to its IR type) is no further from the f32 result, in relative L2, than with the stream in f16.
 */
class F32ResidualsTest {
    static final int TOKENS = 16, WIDTH = 32, HIDDEN = 64;

    /**
     * A random pre-LN stack of {@code layers} blocks, single-head attention and a Gelu MLP, all with biases. As in
     * GPT-2's initialization the projections back into the stream are scaled by 1/sqrt(2·layers), so each block
     * adds a small update to a stream of unit size (trained transformers look like this: the stream is much larger
     * than one block's update, which is why its f16 rounding matters).
     */
    static Graph preLnStack(int layers, Random r) {
        GraphBuilder b = new GraphBuilder("stack" + layers);
        Value x = b.input("x", TensorType.of(DType.F32, TOKENS, WIDTH));
        for (int l = 0; l < layers; l++) {
            Value h = layerNorm(b, x, r);
            Value q = linear(b, h, WIDTH, WIDTH, 1, r), k = linear(b, h, WIDTH, WIDTH, 1, r), v = linear(b, h, WIDTH, WIDTH, 1, r);
            Value s = b.op("Mul", b.op("MatMul", q, b.op("Transpose", Map.of("perm", Attr.ints(1, 0)), k)),
                    b.constant(Tensor.scalar(DType.F32, 1 / Math.sqrt(WIDTH))));
            Value a = b.op("MatMul", b.op("Softmax", Map.of("axis", Attr.of(-1)), s), v);
            double out = 1 / Math.sqrt(2 * layers);
            x = b.op("Add", x, linear(b, a, WIDTH, WIDTH, out, r));
            Value m = b.op("Gelu", linear(b, layerNorm(b, x, r), WIDTH, HIDDEN, 1, r));
            x = b.op("Add", x, linear(b, m, HIDDEN, WIDTH, out, r));
        }
        return b.output(layerNorm(b, x, r)).build();
    }

    static Value linear(GraphBuilder b, Value x, int in, int out, double gain, Random r) {
        double scale = gain * Math.sqrt(3.0 / in);   // variance gain²/in: unit-variance inputs, outputs of size gain
        Value y = b.op("MatMul", x, b.constant(RefCheck.random(r, DType.F32, new long[] {in, out}, -scale, scale)));
        return b.op("Add", y, b.constant(RefCheck.random(r, DType.F32, new long[] {out}, -0.1 * gain, 0.1 * gain)));
    }

    static Value layerNorm(GraphBuilder b, Value x, Random r) {
        return b.op("LayerNormalization", Map.of("epsilon", Attr.of(1e-5)), x,
                b.constant(RefCheck.random(r, DType.F32, new long[] {WIDTH}, 0.5, 1.5)),
                b.constant(RefCheck.random(r, DType.F32, new long[] {WIDTH}, -0.1, 0.1)));
    }

    /** The standard pipeline up to and including convert-precision. */
    static List<Pass> prefix(DType dt, boolean f32Residuals) {
        return Pipeline.before(Pipeline.standard(Map.of(), Map.of(), dt, true, true, f32Residuals), "fuse-epilogues");
    }

    static double relL2(Tensor want, Tensor got) {
        double num = 0, den = 0;
        for (int i = 0; i < want.numel(); i++) {
            double d = want.getDouble(i) - got.getDouble(i);
            num += d * d;
            den += want.getDouble(i) * want.getDouble(i);
        }
        return Math.sqrt(num / den);
    }

    /** {relative L2 error with the stream in f32, without}. */
    static double[] errors(Graph g, long seed) {
        List<Tensor> in = RefCheck.inputs(g, new Random(seed));
        Tensor want = Interpreter.run(RefCheck.run(g, prefix(DType.F32, true)), in).get(0);
        Tensor on = Interpreter.run(RefCheck.run(g, prefix(DType.F16, true)), in).get(0);
        Tensor off = Interpreter.run(RefCheck.run(g, prefix(DType.F16, false)), in).get(0);
        return new double[] {relL2(want, on), relL2(want, off)};
    }

    @Property(tries = 10)
    void theStreamInF32IsNoWorse(@ForAll @IntRange(min = 2, max = 16) int layers, @ForAll long seed) {
        double[] e = errors(preLnStack(layers, new Random(seed)), seed);
        assertTrue(e[0] > 0, "f16 changes the result");
        assertTrue(e[0] <= e[1], layers + " layers: " + e[0] + " with the stream in f32, " + e[1] + " without");
    }

    @Test
    void deepStackErrorWithAndWithout() {
        for (int layers : new int[] {2, 12, 24}) {
            double[] e = errors(preLnStack(layers, new Random(layers)), layers);
            System.out.printf("f32-residuals pre-LN stack, %2d layers: f16 relative L2 vs f32: stream f32 %.3e, stream f16 %.3e%n",
                    layers, e[0], e[1]);
            // the stream's roundings add up with depth; without them the error stays that of one block
            if (layers == 24) assertTrue(2 * e[0] < e[1], "24 layers: " + e[0] + " with the stream in f32, " + e[1] + " without");
        }
    }

    @Test
    void everyResidualAddAndOnlyThoseBecomeF32() {
        Graph g = RefCheck.run(preLnStack(3, new Random(5)), prefix(DType.F32, true));
        PassContext on = new PassContext(), off = new PassContext();
        Graph low = new ConvertPrecision(DType.F16, true).run(g, on);
        new ConvertPrecision(DType.F16, false).run(g, off);
        // 3 blocks, two residual Adds each; the bias Adds of the projections stay f16
        assertEquals(6L, on.counters().get("residual adds in f32"), on.counters().toString());
        assertNull(off.counters().get("residual adds in f32"), off.counters().toString());
        assertTrue(low.nodes().select(n -> n.op().equals("MatMul")).allSatisfy(n -> n.output(0).dtype() == DType.F16), low.toString());
        // a projection's bias Add (it reads a MatMul) is no residual: it stays f16, cast up where the stream reads it
        var matmuls = low.nodes().select(n -> n.op().equals("MatMul")).collect(n -> n.output(0).name()).toSet();
        var biasAdds = low.nodes().select(n -> n.op().equals("Add") && n.inputs().anySatisfy(i -> matmuls.contains(i.name())));
        assertEquals(3 * 4, biasAdds.size(), low.toString());   // Q/K/V merged into one matmul, output, two MLP
        assertTrue(biasAdds.allSatisfy(n -> n.output(0).dtype() == DType.F16), low.toString());
    }
}
