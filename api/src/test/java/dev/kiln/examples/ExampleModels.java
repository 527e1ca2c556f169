package dev.kiln.examples;

import dev.kiln.frontend.TensorCodec;
import dev.kiln.frontend.proto.Onnx.AttributeProto;
import dev.kiln.frontend.proto.Onnx.GraphProto;
import dev.kiln.frontend.proto.Onnx.ModelProto;
import dev.kiln.frontend.proto.Onnx.NodeProto;
import dev.kiln.frontend.proto.Onnx.OperatorSetIdProto;
import dev.kiln.frontend.proto.Onnx.TensorProto;
import dev.kiln.frontend.proto.Onnx.TensorShapeProto;
import dev.kiln.frontend.proto.Onnx.TypeProto;
import dev.kiln.frontend.proto.Onnx.ValueInfoProto;
import dev.kiln.ir.DType;
import dev.kiln.ir.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Makes the example models shipped in {@code examples/} (run {@code main} to rewrite them; a test checks the
 * committed files are what this code makes). {@code tiny_block.onnx} is one pre-norm transformer block as
 * PyTorch exports it at opset 17: LayerNorm, Q/K/V projections, 4-head attention written as
 * MatMul/Div/Softmax/MatMul, output projection, residual, LayerNorm, an erf-GELU MLP, residual.
 */
public final class ExampleModels {
    static final int SEQ = 16, HIDDEN = 64, HEADS = 4, HEAD = HIDDEN / HEADS, FFN = 128;

    private final GraphProto.Builder g = GraphProto.newBuilder().setName("tiny_block");
    private final SplittableRandom random = new SplittableRandom(2026);
    private int next;

    public static void main(String[] args) throws IOException {
        Path out = Path.of(args.length > 0 ? args[0] : "examples");
        Files.createDirectories(out);
        Files.write(out.resolve("tiny_block.onnx"), tinyBlock());
    }

    public static byte[] tinyBlock() {
        ExampleModels m = new ExampleModels();
        GraphProto.Builder g = m.g;
        g.addInput(valueInfo("x", 1, SEQ, HIDDEN));
        g.addOutput(valueInfo("y", 1, SEQ, HIDDEN));
        String ln1 = m.layerNorm("x", "ln1");
        String q = m.heads(m.linear(ln1, HIDDEN, HIDDEN, "q_proj"), new long[] {0, 2, 1, 3});
        String kT = m.heads(m.linear(ln1, HIDDEN, HIDDEN, "k_proj"), new long[] {0, 2, 3, 1});
        String v = m.heads(m.linear(ln1, HIDDEN, HIDDEN, "v_proj"), new long[] {0, 2, 1, 3});
        String scores = m.node("MatMul", "scores", q, kT);
        String scaled = m.node("Div", "scale", scores, m.constant(Tensor.scalar(DType.F32, Math.sqrt(HEAD))));
        String probs = m.node("Softmax", "softmax", AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.INT).setI(-1).build(), scaled);
        String ctx = m.node("MatMul", "context", probs, v);
        String merged = m.node("Reshape", "merge_heads",
                m.node("Transpose", "unpermute", perm(0, 2, 1, 3), ctx), m.constant(Tensor.vector(1, SEQ, HIDDEN)));
        String h = m.node("Add", "residual1", "x", m.linear(merged, HIDDEN, HIDDEN, "o_proj"));
        String up = m.linear(m.layerNorm(h, "ln2"), HIDDEN, FFN, "fc1");
        // GELU as PyTorch exports it: x * 0.5 * (1 + erf(x / sqrt(2)))
        String erf = m.node("Erf", "gelu_erf", m.node("Div", "gelu_div", up, m.constant(Tensor.scalar(DType.F32, Math.sqrt(2)))));
        String gelu = m.node("Mul", "gelu_half", m.node("Mul", "gelu_mul", up,
                m.node("Add", "gelu_add", erf, m.constant(Tensor.scalar(DType.F32, 1)))), m.constant(Tensor.scalar(DType.F32, 0.5)));
        String down = m.linear(gelu, FFN, HIDDEN, "fc2");
        g.addNode(NodeProto.newBuilder().setName("residual2").setOpType("Add").addInput(h).addInput(down).addOutput("y"));
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("kiln-examples")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
                .setGraph(g).build().toByteArray();
    }

    private String linear(String x, int in, int out, String name) {
        String w = weight(name + ".weight", new long[] {in, out}, 1 / Math.sqrt(in));
        String b = weight(name + ".bias", new long[] {out}, 0.02);
        return node("Add", name + "/add", node("MatMul", name + "/matmul", x, w), b);
    }

    private String layerNorm(String x, String name) {
        String gamma = weight(name + ".weight", new long[] {HIDDEN}, 0.1, 1.0);
        String beta = weight(name + ".bias", new long[] {HIDDEN}, 0.1);
        AttributeProto eps = AttributeProto.newBuilder().setName("epsilon").setType(AttributeProto.AttributeType.FLOAT).setF(1e-5f).build();
        return node("LayerNormalization", name, eps, x, gamma, beta);
    }

    /** [1,S,HIDDEN] -> [1,S,HEADS,HEAD] -> permuted. */
    private String heads(String x, long[] perm) {
        String r = node("Reshape", "split_heads", x, constant(Tensor.vector(1, SEQ, HEADS, HEAD)));
        return node("Transpose", "permute", perm(perm), r);
    }

    private String weight(String name, long[] shape, double scale) { return weight(name, shape, scale, 0); }

    private String weight(String name, long[] shape, double scale, double offset) {
        double[] v = new double[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = offset + scale * random.nextGaussian();
        g.addInitializer(TensorCodec.encode(Tensor.ofDoubles(DType.F32, shape, v), name));
        return name;
    }

    private String constant(Tensor t) {
        String name = "const" + next++;
        TensorProto p = TensorCodec.encode(t, name);
        g.addInitializer(p);
        return name;
    }

    private String node(String op, String name, String... inputs) { return node(op, name, null, inputs); }

    private String node(String op, String name, AttributeProto attr, String... inputs) {
        String out = name + "_out" + next++;
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(name + "#" + next).addOutput(out);
        for (String i : inputs) n.addInput(i);
        if (attr != null) n.addAttribute(attr);
        g.addNode(n);
        return out;
    }

    private static AttributeProto perm(long... p) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName("perm").setType(AttributeProto.AttributeType.INTS);
        for (long x : p) a.addInts(x);
        return a.build();
    }

    private static ValueInfoProto valueInfo(String name, long... dims) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (long d : dims) s.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(1).setShape(s))).build();
    }
}
