package dev.kiln.frontend;

import dev.kiln.frontend.proto.Onnx.AttributeProto;
import dev.kiln.frontend.proto.Onnx.AttributeProto.AttributeType;
import dev.kiln.frontend.proto.Onnx.GraphProto;
import dev.kiln.frontend.proto.Onnx.ModelProto;
import dev.kiln.frontend.proto.Onnx.NodeProto;
import dev.kiln.frontend.proto.Onnx.OperatorSetIdProto;
import dev.kiln.frontend.proto.Onnx.TensorShapeProto;
import dev.kiln.frontend.proto.Onnx.TypeProto;
import dev.kiln.frontend.proto.Onnx.ValueInfoProto;

import java.util.List;

/** Small builders for ONNX protos in tests. Dims: a Long is dim_value, a String dim_param, null unknown. */
final class Models {
    private Models() {}

    static ValueInfoProto tensor(String name, int elemType, Object... dims) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            TensorShapeProto.Dimension.Builder db = TensorShapeProto.Dimension.newBuilder();
            if (d instanceof Number n) db.setDimValue(n.longValue());
            else if (d instanceof String p) db.setDimParam(p);
            s.addDim(db);
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(s))).build();
    }

    static ValueInfoProto unranked(String name, int elemType) {
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType))).build();
    }

    static NodeProto node(String op, List<String> in, List<String> out, AttributeProto... attrs) {
        return NodeProto.newBuilder().setOpType(op).addAllInput(in).addAllOutput(out).addAllAttribute(List.of(attrs)).build();
    }

    static AttributeProto attr(String name, long v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeType.INT).setI(v).build();
    }

    static AttributeProto attr(String name, float v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeType.FLOAT).setF(v).build();
    }

    static AttributeProto attr(String name, String v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeType.STRING)
                .setS(com.google.protobuf.ByteString.copyFromUtf8(v)).build();
    }

    static AttributeProto ints(String name, long... v) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeType.INTS);
        for (long x : v) b.addInts(x);
        return b.build();
    }

    static AttributeProto floats(String name, float... v) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeType.FLOATS);
        for (float x : v) b.addFloats(x);
        return b.build();
    }

    static ModelProto model(long opset, GraphProto.Builder g) { return model(8, opset, g); }

    static ModelProto model(long ir, long opset, GraphProto.Builder g) {
        return ModelProto.newBuilder().setIrVersion(ir).setProducerName("kiln-test")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset))
                .setGraph(g.setName("g")).build();
    }
}
