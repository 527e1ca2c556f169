package dev.kiln;

import dev.kiln.frontend.TensorCodec;
import dev.kiln.frontend.proto.Onnx;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;

/** Small models for the api tests, with values simple enough to work out by hand. */
public final class TestModels {
    private TestModels() {}

    public static final Tensor W = Tensor.f32(new long[] {2, 3}, 1, -2, 3, -4, 5, -6);
    public static final Tensor X = Tensor.f32(new long[] {2, 3}, 0.5, 0.5, -4, 1, -7, 2);
    /** relu(X + W) = relu([1.5, -1.5, -1, -3, -2, -4]) */
    public static final Tensor RELU_X_PLUS_W = Tensor.f32(new long[] {2, 3}, 1.5, 0, 0, 0, 0, 0);

    /** y = relu(x + w) with x: f32[2,3] and w the constant {@link #W}. */
    public static Graph reluAdd() {
        GraphBuilder b = new GraphBuilder("relu_add");
        Value x = b.input("x", TensorType.of(DType.F32, 2, 3));
        Value y = b.op("Relu", b.op("Add", x, b.constant("w", W)));
        return b.output(y).build();
    }

    /** The same model as ONNX bytes (opset 17), w as an initializer. */
    public static byte[] reluAddOnnx() {
        Onnx.GraphProto g = Onnx.GraphProto.newBuilder().setName("relu_add")
                .addInput(info("x")).addOutput(info("y"))
                .addInitializer(TensorCodec.encode(W, "w"))
                .addNode(Onnx.NodeProto.newBuilder().setOpType("Add").addInput("x").addInput("w").addOutput("s").setName("add0"))
                .addNode(Onnx.NodeProto.newBuilder().setOpType("Relu").addInput("s").addOutput("y").setName("relu0"))
                .build();
        return Onnx.ModelProto.newBuilder().setIrVersion(8).setGraph(g)
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).build().toByteArray();
    }

    private static Onnx.ValueInfoProto info(String name) {
        Onnx.TensorShapeProto.Builder s = Onnx.TensorShapeProto.newBuilder();
        s.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(2));
        s.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(3));
        return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder()
                .setTensorType(Onnx.TypeProto.Tensor.newBuilder().setElemType(1).setShape(s))).build();
    }

    /** A larger chain for the GPU and bundle tests: y = sigmoid(x * w2) - x over f32[64,1024], w2 seeded. */
    public static Graph chain(long seed) {
        java.util.Random r = new java.util.Random(seed);
        double[] w = new double[64 * 1024];
        for (int i = 0; i < w.length; i++) w[i] = r.nextGaussian();
        GraphBuilder b = new GraphBuilder("chain");
        Value x = b.input("x", TensorType.of(DType.F32, 64, 1024));
        Value y = b.op("Sub", b.op("Sigmoid", b.op("Mul", x, b.constant("w2", Tensor.f32(new long[] {64, 1024}, w)))), x);
        return b.output(y).build();
    }

    public static Tensor random(long seed, long... shape) {
        java.util.Random r = new java.util.Random(seed);
        double[] v = new double[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = r.nextGaussian();
        return Tensor.f32(shape, v);
    }
}
