package dev.kiln.bench;

import com.google.protobuf.UnsafeByteOperations;
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
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Full-size transformer models with random weights, written as ONNX the way PyTorch exports them at opset 17,
 * for measuring the compiler at real sizes without shipping gigabytes: {@code bert-base} (12 post-LN layers,
 * hidden 768, 12 heads, FFN 3072, seq 128, vocab 30522, an additive attention mask from an int64 input;
 * 110M parameters, 0.44 GB) and {@code vit-l32-384} (ViT-L/32 at 384x384: a 32x32 stride-32 patch Conv to
 * 144 patches plus a class token, 24 pre-LN layers, hidden 1024, 16 heads, MLP 4096; 306M parameters,
 * 1.2 GB). Kernels depend on shapes only, so every run generates the same kernels whatever the seed.
 * {@code bert-base-L} with a number L gives L layers (for checking that pass times grow linearly).
 */
public final class SyntheticModels {
    private final GraphProto.Builder g;
    private final SplittableRandom random = new SplittableRandom(2026);
    private int next;

    private SyntheticModels(String name) { g = GraphProto.newBuilder().setName(name); }

    /** Known names: bert-base, bert-base-L (L layers), vit-l32-384. */
    public static boolean known(String name) { return name.equals("vit-l32-384") || name.matches("resnet50(-b\\d+)?") || name.matches("bert-base(-\\d+)?"); }

    /** Writes model {@code name} as an ONNX file in {@code dir}; returns its path. */
    public static Path write(String name, Path dir) throws IOException {
        ModelProto m = switch (name) {
            case "vit-l32-384" -> vit(24, 1024, 16, 4096, 384, 32);
            case String r when r.matches("resnet50(-b\\d+)?") -> resnet50(r.equals("resnet50") ? 1 : Integer.parseInt(r.substring("resnet50-b".length())));
            default -> {
                if (!name.matches("bert-base(-\\d+)?")) throw new IllegalArgumentException("unknown synthetic model " + name + " (bert-base, bert-base-L, vit-l32-384)");
                int layers = name.equals("bert-base") ? 12 : Integer.parseInt(name.substring("bert-base-".length()));
                yield bert(layers, 768, 12, 3072, 128, 30522);
            }
        };
        Path f = dir.resolve(name + ".onnx");
        try (OutputStream out = Files.newOutputStream(f)) {
            m.writeTo(out);
        }
        return f;
    }

    static ModelProto bert(int layers, int hidden, int heads, int ffn, int seq, int vocab) {
        SyntheticModels m = new SyntheticModels("bert-base");
        m.g.addInput(valueInfo("input_ids", 7, 1, seq));
        m.g.addInput(valueInfo("attention_mask", 7, 1, seq));
        m.g.addOutput(valueInfo("last_hidden_state", 1, 1, seq, hidden));
        // (1 - mask) * -10000 over [1,1,1,seq], as transformers builds the extended attention mask
        String mask = m.node("Unsqueeze", "/m/Unsqueeze", "attention_mask", m.constant(Tensor.vector(1, 2)));
        mask = m.node("Cast", "/m/Cast", ints("to", 1), mask);
        mask = m.node("Mul", "/m/Mul", m.node("Sub", "/m/Sub", m.constant(Tensor.scalar(DType.F32, 1)), mask),
                m.constant(Tensor.scalar(DType.F32, -10000)));
        String words = m.node("Gather", "/m/embeddings/word_embeddings/Gather", m.weight("word_embeddings", 0.02, vocab, hidden), "input_ids");
        String positions = m.node("Gather", "/m/embeddings/position_embeddings/Gather", m.weight("position_embeddings", 0.02, 512, hidden),
                m.constant(Tensor.ofLongs(DType.I64, new long[] {1, seq}, java.util.stream.LongStream.range(0, seq).toArray())));
        String h = m.node("Add", "/m/embeddings/Add", words, m.weight("token_type_row", 0.02, hidden));
        h = m.layerNorm(m.node("Add", "/m/embeddings/Add_1", h, positions), hidden, "/m/embeddings/LayerNorm");
        for (int l = 0; l < layers; l++) {
            String p = "/m/encoder/layer." + l;
            String attn = m.attention(h, mask, hidden, heads, seq, p + "/attention/self");
            h = m.layerNorm(m.node("Add", p + "/attention/output/Add", m.linear(attn, hidden, hidden, p + "/attention/output/dense"), h),
                    hidden, p + "/attention/output/LayerNorm");
            String up = m.gelu(m.linear(h, hidden, ffn, p + "/intermediate/dense"), p + "/intermediate/intermediate_act_fn");
            h = m.layerNorm(m.node("Add", p + "/output/Add", m.linear(up, ffn, hidden, p + "/output/dense"), h), hidden, p + "/output/LayerNorm");
        }
        m.g.addNode(NodeProto.newBuilder().setOpType("Identity").setName("/m/output").addInput(h).addOutput("last_hidden_state"));
        return m.model();
    }

    static ModelProto vit(int layers, int hidden, int heads, int mlp, int image, int patch) {
        SyntheticModels m = new SyntheticModels("vit-l32-384");
        int grid = image / patch, tokens = grid * grid + 1;
        m.g.addInput(valueInfo("pixel_values", 1, 1, 3, image, image));
        m.g.addOutput(valueInfo("last_hidden_state", 1, 1, tokens, hidden));
        NodeProto.Builder conv = NodeProto.newBuilder().setOpType("Conv").setName("/m/embeddings/patch_embeddings/projection/Conv")
                .addInput("pixel_values").addInput(m.weight("patch.weight", 1 / Math.sqrt(3.0 * patch * patch), hidden, 3, patch, patch))
                .addInput(m.weight("patch.bias", 0.02, hidden)).addOutput("patches")
                .addAttribute(intList("kernel_shape", patch, patch)).addAttribute(intList("strides", patch, patch));
        m.g.addNode(conv);
        String x = m.node("Reshape", "/m/embeddings/patch_embeddings/Flatten", "patches", m.constant(Tensor.vector(1, hidden, grid * grid)));
        x = m.node("Transpose", "/m/embeddings/patch_embeddings/Transpose", intList("perm", 0, 2, 1), x);
        x = m.node("Concat", "/m/embeddings/Concat", ints("axis", 1), m.weight("cls_token", 0.02, 1, 1, hidden), x);
        String h = m.node("Add", "/m/embeddings/Add", x, m.weight("position_embeddings", 0.02, 1, tokens, hidden));
        for (int l = 0; l < layers; l++) {
            String p = "/m/layers." + l;
            String attn = m.attention(m.layerNorm(h, hidden, p + "/layernorm_before"), null, hidden, heads, tokens, p + "/attention");
            h = m.node("Add", p + "/Add", m.linear(attn, hidden, hidden, p + "/attention/output"), h);
            String up = m.gelu(m.linear(m.layerNorm(h, hidden, p + "/layernorm_after"), hidden, mlp, p + "/mlp/fc1"), p + "/mlp/activation_fn");
            h = m.node("Add", p + "/Add_1", m.linear(up, mlp, hidden, p + "/mlp/fc2"), h);
        }
        h = m.layerNorm(h, hidden, "/m/layernorm");
        m.g.addNode(NodeProto.newBuilder().setOpType("Identity").setName("/m/output").addInput(h).addOutput("last_hidden_state"));
        return m.model();
    }

    /**
     * ResNet-50 at 224x224 as torchvision exports it with constant folding: BatchNorm folded into each Conv's
     * weights and bias, Relu, the residual Add, a 3x3 stride-2 MaxPool, GlobalAveragePool, Flatten and a Gemm.
     */
    static ModelProto resnet50(int batch) {
        SyntheticModels m = new SyntheticModels("resnet50");
        m.g.addInput(valueInfo("input", 1, batch, 3, 224, 224));
        m.g.addOutput(valueInfo("output", 1, batch, 1000));
        String x = m.node("Relu", "/relu/Relu", m.conv("input", 3, 64, 7, 2, "/conv1/Conv"));
        NodeProto.Builder pool = NodeProto.newBuilder().setOpType("MaxPool").setName("/maxpool/MaxPool").addInput(x).addOutput("pooled")
                .addAttribute(intList("kernel_shape", 3, 3)).addAttribute(intList("strides", 2, 2)).addAttribute(intList("pads", 1, 1, 1, 1));
        m.g.addNode(pool);
        x = "pooled";
        int in = 64;
        int[] blocks = {3, 4, 6, 3};
        for (int s = 0; s < 4; s++) {
            int width = 64 << s, out = width * 4;
            for (int b = 0; b < blocks[s]; b++) {
                String p = "/layer" + (s + 1) + "/layer" + (s + 1) + "." + b;
                int stride = b == 0 && s > 0 ? 2 : 1;
                String y = m.node("Relu", p + "/relu/Relu", m.conv(x, in, width, 1, 1, p + "/conv1/Conv"));
                y = m.node("Relu", p + "/relu_1/Relu", m.conv(y, width, width, 3, stride, p + "/conv2/Conv"));
                y = m.conv(y, width, out, 1, 1, p + "/conv3/Conv");
                String skip = b == 0 ? m.conv(x, in, out, 1, stride, p + "/downsample/downsample.0/Conv") : x;
                x = m.node("Relu", p + "/relu_2/Relu", m.node("Add", p + "/Add", y, skip));
                in = out;
            }
        }
        x = m.node("Flatten", "/Flatten", m.node("GlobalAveragePool", "/avgpool/GlobalAveragePool", x));
        NodeProto.Builder fc = NodeProto.newBuilder().setOpType("Gemm").setName("/fc/Gemm").addInput(x)
                .addInput(m.weight("fc.weight", 1 / Math.sqrt(2048), 1000, 2048)).addInput(m.weight("fc.bias", 0.02, 1000)).addOutput("output")
                .addAttribute(ints("transB", 1));
        m.g.addNode(fc);
        return m.model();
    }

    /** A Conv with a bias (BatchNorm folded in), square kernel {@code k}, padding k/2. */
    private String conv(String x, int in, int out, int k, int stride, String p) {
        String y = p + "_output_" + next++;
        g.addNode(NodeProto.newBuilder().setOpType("Conv").setName(p).addInput(x).addInput(weight(p + ".weight", 1 / Math.sqrt(in * k * k), out, in, k, k))
                .addInput(weight(p + ".bias", 0.02, out)).addOutput(y).addAttribute(intList("kernel_shape", k, k))
                .addAttribute(intList("strides", stride, stride)).addAttribute(intList("pads", k / 2, k / 2, k / 2, k / 2)));
        return y;
    }

    private ModelProto model() {
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("kiln-bench-synthetic")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).setGraph(g).build();
    }

    /** Multi-head attention as exported: Q/K/V projections, split heads, MatMul / Div / [+ mask] / Softmax / MatMul, merge. */
    private String attention(String x, String mask, int hidden, int heads, int seq, String p) {
        int head = hidden / heads;
        String q = splitHeads(linear(x, hidden, hidden, p + "/query"), seq, heads, head, p + "/q", 0, 2, 1, 3);
        String kT = splitHeads(linear(x, hidden, hidden, p + "/key"), seq, heads, head, p + "/k", 0, 2, 3, 1);
        String v = splitHeads(linear(x, hidden, hidden, p + "/value"), seq, heads, head, p + "/v", 0, 2, 1, 3);
        String s = node("Div", p + "/Div", node("MatMul", p + "/MatMul", q, kT), constant(Tensor.scalar(DType.F32, Math.sqrt(head))));
        if (mask != null) s = node("Add", p + "/Add", s, mask);
        String ctx = node("MatMul", p + "/MatMul_1", node("Softmax", p + "/Softmax", ints("axis", -1), s), v);
        ctx = node("Transpose", p + "/Transpose_3", intList("perm", 0, 2, 1, 3), ctx);
        return node("Reshape", p + "/Reshape_3", ctx, constant(Tensor.vector(1, seq, hidden)));
    }

    private String splitHeads(String x, int seq, int heads, int head, String p, long... perm) {
        return node("Transpose", p + "/Transpose", intList("perm", perm), node("Reshape", p + "/Reshape", x, constant(Tensor.vector(1, seq, heads, head))));
    }

    private String linear(String x, int in, int out, String p) {
        return node("Add", p + "/Add", node("MatMul", p + "/MatMul", x, weight(p + ".weight", 1 / Math.sqrt(in), in, out)), weight(p + ".bias", 0.02, out));
    }

    private String layerNorm(String x, int hidden, String p) {
        AttributeProto eps = AttributeProto.newBuilder().setName("epsilon").setType(AttributeProto.AttributeType.FLOAT).setF(1e-12f).build();
        return node("LayerNormalization", p + "/LayerNormalization", eps, x, weight(p + ".weight", 0.1, hidden), weight(p + ".bias", 0.1, hidden));
    }

    /** x * 0.5 * (1 + erf(x / sqrt(2))), as PyTorch exports GELU. */
    private String gelu(String x, String p) {
        String erf = node("Erf", p + "/Erf", node("Div", p + "/Div", x, constant(Tensor.scalar(DType.F32, Math.sqrt(2)))));
        return node("Mul", p + "/Mul_1", node("Mul", p + "/Mul", x, node("Add", p + "/Add", erf, constant(Tensor.scalar(DType.F32, 1)))),
                constant(Tensor.scalar(DType.F32, 0.5)));
    }

    /** A random f32 initializer, written straight into raw_data (no Tensor, no copies). */
    private String weight(String name, double scale, long... shape) {
        int n = Math.toIntExact(Tensor.numel(shape));
        byte[] raw = new byte[n * 4];
        var f = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        for (int i = 0; i < n; i++) f.put(i, (float) (scale * (2 * random.nextDouble() - 1)));
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(1).setRawData(UnsafeByteOperations.unsafeWrap(raw));
        for (long d : shape) t.addDims(d);
        g.addInitializer(t);
        return name;
    }

    private String constant(Tensor t) {
        String name = "const" + next++;
        g.addInitializer(TensorCodec.encode(t, name));
        return name;
    }

    private String node(String op, String name, String... inputs) { return node(op, name, null, inputs); }

    private String node(String op, String name, AttributeProto attr, String... inputs) {
        String out = name + "_output_" + next++;
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(name).addOutput(out);
        for (String i : inputs) n.addInput(i);
        if (attr != null) n.addAttribute(attr);
        g.addNode(n);
        return out;
    }

    private static AttributeProto ints(String name, long v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build();
    }

    private static AttributeProto intList(String name, long... v) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long x : v) a.addInts(x);
        return a.build();
    }

    private static ValueInfoProto valueInfo(String name, int elemType, long... dims) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (long d : dims) s.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(s))).build();
    }
}
