package dev.kiln.profile;

import dev.kiln.CompileOptions;
import dev.kiln.CompiledModel;
import dev.kiln.Kiln;
import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** The cost model on the kernels the compiler really makes: the formulas of KernelCost's comment, on drawn shapes. */
class KernelCostTest {
    static final CompileOptions OPTS = CompileOptions.defaults().withArch("sm_90");

    /** The one node of the compiled graph that made a kernel (the test graphs make exactly one). */
    static Node kernelNode(Graph g, CompileOptions o) {
        CompiledModel m = Kiln.compile(g, o);
        List<String> names = m.launchNodes().stream().filter(s -> !s.isEmpty()).distinct().toList();
        assertEquals(1, names.size(), "expected one kernel-producing node, got " + names);
        return m.graph().nodes().detect(n -> !n.outputs().isEmpty() && n.output(0).name().equals(names.get(0)));
    }

    static Tensor weights(Random r, long... shape) {
        double[] v = new double[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = r.nextGaussian();
        return Tensor.f32(shape, v);
    }

    @Test void matmulIsTwoMNKPerBatchPlusItsEpilogue() {
        Random r = new Random(7);
        for (int t = 0; t < 4; t++) {
            long b = 1 + r.nextInt(3), m = 1 + r.nextInt(40), k = 1 + r.nextInt(64), n = 1 + r.nextInt(48);
            GraphBuilder gb = new GraphBuilder("mm");
            Value x = gb.input("x", TensorType.of(DType.F32, b, m, k));
            Value y = gb.op("Relu", gb.op("MatMul", x, gb.constant("w", weights(r, k, n))));
            KernelCost c = KernelCost.of(kernelNode(gb.output(y).build(), OPTS));
            assertEquals("matmul", c.kind());
            assertEquals(2.0 * b * m * n * k + b * m * n, c.flops(), "MatMul 2MNK·batch + one Relu per output");
            assertEquals(4 * (b * m * k + k * n + b * m * n), c.bytes(), "x and w read once, y written once");
            assertTrue(c.contraction());
            assertEquals("f32", c.computeDtype());
        }
    }

    @Test void fp16MatmulCountsHalfTheBytesOfItsWeightsAndComputesInF16() {
        Random r = new Random(3);
        GraphBuilder gb = new GraphBuilder("mm16");
        Value x = gb.input("x", TensorType.of(DType.F32, 16, 64));
        Value y = gb.op("MatMul", gb.op("Relu", x), gb.constant("w", weights(r, 64, 32)));
        Graph g = gb.output(y).build();
        CompiledModel m = Kiln.compile(g, OPTS.withPrecision(CompileOptions.Precision.FP16));
        Node mm = m.graph().nodes().detect(n -> n.attrString("kind", "").equals("matmul"));
        KernelCost c = KernelCost.of(mm);
        assertEquals("f16", c.computeDtype());
        assertEquals(2.0 * 16 * 64 * 32, c.flops(), 16 * 32 * 2, "2MNK, plus at most a cast per output");
        assertEquals(DType.F16, mm.input(0).dtype());
        assertEquals(2 * (16 * 64 + 64 * 32) + 16 * 32 * mm.output(0).dtype().storageBytes(), c.bytes(), "x and w in f16");
    }

    @Test void convIsTwoTimesOutputsTimesWeightsPerOutputChannel() {
        Random r = new Random(11);
        for (int t = 0; t < 3; t++) {
            long g = 1 + r.nextInt(2), cin = g * (1 + r.nextInt(3)), cout = g * (1 + r.nextInt(4)), kh = 1 + r.nextInt(3), kw = 1 + r.nextInt(3);
            long h = 5 + r.nextInt(6), w = 5 + r.nextInt(6), stride = 1 + r.nextInt(2);
            GraphBuilder gb = new GraphBuilder("conv");
            Value x = gb.input("x", TensorType.of(DType.F32, 1, cin, h, w));
            Value y = gb.op("Conv", Map.of("group", Attr.of(g), "strides", Attr.ints(stride, stride)), x,
                    gb.constant("w", weights(r, cout, cin / g, kh, kw)));
            KernelCost c = KernelCost.of(kernelNode(gb.output(y).build(), OPTS));
            long oh = (h - kh) / stride + 1, ow = (w - kw) / stride + 1;
            assertEquals(2.0 * cout * oh * ow * (cin / g) * kh * kw, c.flops(), "2·N·M·outSpatial·(C/g)·kernelSpatial");
            assertEquals(4 * (cin * h * w + cout * (cin / g) * kh * kw + cout * oh * ow), c.bytes());
        }
    }

    @Test void attentionIsFourBHSLDAndAboutHalfCausal() {
        long b = 2, heads = 3, s = 16, d = 8;
        for (boolean causal : new boolean[] {false, true}) {
            GraphBuilder gb = new GraphBuilder("attn");
            Value q = gb.input("q", TensorType.of(DType.F32, b, heads, s, d));
            Value k = gb.input("k", TensorType.of(DType.F32, b, heads, s, d));
            Value v = gb.input("v", TensorType.of(DType.F32, b, heads, s, d));
            Value y = gb.op("Attention", Map.of("is_causal", Attr.of(causal ? 1 : 0)), q, k, v);
            KernelCost c = KernelCost.of(kernelNode(gb.output(y).build(), OPTS));
            assertEquals("attention", c.kind());
            assertEquals(4.0 * b * heads * s * s * d / (causal ? 2 : 1), c.flops());
            assertEquals(4 * 4 * b * heads * s * d, c.bytes(), "q, k, v read, y written");
        }
    }

    @Test void reductionsCountTheirInputAndMovementNothing() {
        GraphBuilder gb = new GraphBuilder("red");
        Value x = gb.input("x", TensorType.of(DType.F32, 6, 10));
        Value y = gb.op("ReduceSum", Map.of("keepdims", Attr.of(1)), x, gb.constant("axes", Tensor.ofLongs(DType.I64, new long[] {1}, new long[] {1})));
        KernelCost c = KernelCost.of(kernelNode(gb.output(y).build(), OPTS));
        assertEquals(60, c.flops());
        assertEquals(4 * (60 + 6), c.bytes());

        GraphBuilder gt = new GraphBuilder("mov");
        Value a = gt.input("a", TensorType.of(DType.F32, 6, 10));
        Value t = gt.op("Transpose", Map.of("perm", Attr.ints(1, 0)), a);
        KernelCost m = KernelCost.of(kernelNode(gt.output(t).build(), OPTS));
        assertEquals(0, m.flops());
        assertEquals(2 * 4 * 60, m.bytes());
        assertEquals(0, m.intensity());
    }
}
