package dev.kiln.frontend;

import dev.kiln.frontend.proto.Onnx.AttributeProto;
import dev.kiln.frontend.proto.Onnx.GraphProto;
import dev.kiln.frontend.proto.Onnx.ModelProto;
import dev.kiln.frontend.proto.Onnx.OperatorSetIdProto;
import dev.kiln.frontend.proto.Onnx.TensorProto;
import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.Graph;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.KilnException;
import dev.kiln.ir.Node;
import dev.kiln.ir.Shape;
import dev.kiln.ir.ShapeException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.UnsupportedException;
import dev.kiln.ir.Value;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static dev.kiln.frontend.Models.*;
import static org.junit.jupiter.api.Assertions.*;

class OnnxImporterTest {
    static final OnnxImporter IMPORTER = new OnnxImporter(TestOps.REGISTRY);

    static ImportedModel load(ModelProto m) { return IMPORTER.importModel(m.toByteArray(), "t.onnx", null); }

    static TensorProto weight(String name, float... v) {
        TensorProto.Builder b = TensorProto.newBuilder().setName(name).setDataType(1).addDims(v.length);
        for (float x : v) b.addFloatData(x);
        return b.build();
    }

    static <E extends KilnException> E fails(Class<E> type, ModelProto m, String... mustContain) {
        E e = assertThrows(type, () -> load(m));
        for (String s : mustContain) assertTrue(e.getMessage().contains(s), () -> "'" + s + "' not in: " + e.getMessage());
        assertEquals("t.onnx", e.model(), e.getMessage());
        return e;
    }

    @Test void importsTypesWeightsAndMetadata() {
        GraphProto.Builder g = GraphProto.newBuilder()
                .addInput(tensor("x", 1, "N", 3L))
                .addInitializer(weight("w", 1, 2, 3))
                .addNode(node("Add", List.of("x", "w"), List.of("s")).toBuilder().setName("add0").build())
                .addNode(node("Relu", List.of("s"), List.of("y")))
                .addOutput(tensor("y", 1, "N", 3L));
        ImportedModel im = load(model(13, g));
        Graph graph = im.graph();
        assertEquals("t.onnx", graph.name());
        assertEquals(List.of(new Value("x", new TensorType(DType.F32, Shape.of(Dim.sym("N"), Dim.of(3))))), graph.inputs().castToList());
        assertEquals(List.of("Constant", "Add", "Relu"), graph.nodes().collect(Node::op).castToList());
        assertEquals(List.of("w", "add0", "Relu#1"), graph.nodes().collect(Node::origin).castToList());
        assertArrayEquals(new double[] {1, 2, 3}, graph.constantValue(graph.nodes().get(0).output(0)).toDoubles());
        assertEquals("y", graph.outputs().get(0).name());
        assertEquals(new TensorType(DType.F32, Shape.of(Dim.sym("N"), Dim.of(3))), graph.outputs().get(0).type());
        assertEquals(13L, im.opset());
        assertEquals(8L, im.irVersion());
        assertEquals("kiln-test", im.producerName());
        assertEquals("g", im.graphName());
    }

    @Test void ir3WeightsListedAsInputsBecomeConstantsAndRuntimeInputsKeepOrder() {
        GraphProto.Builder g = GraphProto.newBuilder()
                .addInput(tensor("b", 1, 3L))
                .addInput(tensor("a", 1, 3L))
                .addInput(tensor("w", 1, 3L))
                .addInitializer(weight("w", 4, 5, 6))
                .addNode(node("Add", List.of("a", "w"), List.of("s")))
                .addNode(node("Add", List.of("s", "b"), List.of("y")))
                .addOutput(tensor("y", 1, 3L));
        Graph graph = load(model(3, 6, g)).graph();
        assertEquals(List.of("b", "a"), graph.inputs().collect(Value::name).castToList());
        assertEquals("Constant", graph.nodes().get(0).op());
    }

    @Test void inputDimsStaticSymbolicUnknownAndUnranked() {
        GraphProto.Builder g = GraphProto.newBuilder()
                .addInput(tensor("x", 7, 2L, "batch", null))
                .addInput(unranked("u", 1))
                .addNode(node("Relu", List.of("u"), List.of("y")))
                .addOutput(unranked("y", 1));
        Graph graph = load(model(13, g)).graph();
        assertEquals(new TensorType(DType.I64, Shape.of(Dim.of(2), Dim.sym("batch"), Dim.UNKNOWN)), graph.inputs().get(0).type());
        assertEquals(Shape.UNRANKED, graph.inputs().get(1).shape());
    }

    private static Tensor constantOf(AttributeProto a) {
        GraphProto.Builder g = GraphProto.newBuilder()
                .addNode(node("Constant", List.of(), List.of("c"), a))
                .addOutput(unranked("c", 0).toBuilder().clearType().build());
        Graph graph = load(model(13, g)).graph();
        Node n = graph.nodes().get(0);
        assertEquals(List.of("value"), n.attrs().keysView().toList());
        return n.attrTensor("value");
    }

    @Test void constantAttributeFormsBecomeOneTensor() {
        assertEquals(Tensor.scalar(DType.F32, 0.5), constantOf(attr("value_float", 0.5f)));
        assertEquals(Tensor.f32(new long[] {2}, 1, 2), constantOf(floats("value_floats", 1, 2)));
        assertEquals(Tensor.scalarLong(DType.I64, -3), constantOf(attr("value_int", -3L)));
        assertEquals(Tensor.vector(4, 5), constantOf(ints("value_ints", 4, 5)));
        assertEquals(Tensor.ofStrings(new long[0], new String[] {"hi"}), constantOf(attr("value_string", "hi")));
        assertEquals(Tensor.ofStrings(new long[] {2}, new String[] {"a", "b"}), constantOf(AttributeProto.newBuilder()
                .setName("value_strings").setType(AttributeProto.AttributeType.STRINGS)
                .addStrings(com.google.protobuf.ByteString.copyFromUtf8("a")).addStrings(com.google.protobuf.ByteString.copyFromUtf8("b")).build()));
        assertEquals(Tensor.f32(new long[] {1}, 7), constantOf(AttributeProto.newBuilder().setName("value")
                .setType(AttributeProto.AttributeType.TENSOR).setT(weight("", 7)).build()));
    }

    @Test void attributeKindsMapExactly() {
        GraphProto.Builder g = GraphProto.newBuilder()
                .addInput(tensor("x", 1, 2L))
                .addNode(node("Clip", List.of("x"), List.of("y"), attr("f", 0.1f), attr("i", 7L), attr("s", "str"),
                        ints("is", 1, -2), floats("fs", 0.1f),
                        // IR-1 style: no 'type', kind known from the field that is set
                        AttributeProto.newBuilder().setName("old").setI(9).build()))
                .addOutput(tensor("y", 1, 2L));
        Node n = load(model(13, g)).graph().nodes().get(0);
        assertEquals(new Attr.Float((double) 0.1f), n.attrs().get("f"));
        assertEquals(Attr.of(7L), n.attrs().get("i"));
        assertEquals(Attr.of("str"), n.attrs().get("s"));
        assertEquals(Attr.ints(1, -2), n.attrs().get("is"));
        assertEquals(Attr.floats((double) 0.1f), n.attrs().get("fs"));
        assertEquals(Attr.of(9L), n.attrs().get("old"));
    }

    @Test void omittedOptionalInputsAreNone() {
        GraphProto.Builder g = GraphProto.newBuilder()
                .addInput(tensor("x", 1, 2L)).addInitializer(weight("mx", 1))
                .addNode(node("Clip", List.of("x", "", "mx"), List.of("y")))
                .addOutput(tensor("y", 1, 2L));
        Node n = load(model(13, g)).graph().nodes().get(1);
        assertTrue(n.input(1).isNone());
        assertEquals("mx", n.input(2).name());
    }

    // ---- errors ----

    private static GraphProto.Builder relu() {
        return GraphProto.newBuilder().addInput(tensor("x", 1, 2L))
                .addNode(node("Relu", List.of("x"), List.of("y")).toBuilder().setName("r").build())
                .addOutput(tensor("y", 1, 2L));
    }

    @Test void unsupportedOpsNameOpNodeOpsetAndModel() {
        fails(UnsupportedException.class, model(13, relu().setNode(0, node("Frobnicate", List.of("x"), List.of("y")))),
                "Frobnicate", "Frobnicate#0", "opset 13");
        fails(UnsupportedException.class, model(13, relu().setNode(0, node("Relu", List.of("x"), List.of("y")).toBuilder().setDomain("com.microsoft").build())),
                "com.microsoft", "Relu");
        AttributeProto body = AttributeProto.newBuilder().setName("then_branch").setType(AttributeProto.AttributeType.GRAPH)
                .setG(GraphProto.newBuilder()).build();
        fails(UnsupportedException.class, model(13, relu().setNode(0, node("If", List.of("x"), List.of("y"), body))), "If", "control-flow");
        fails(UnsupportedException.class, model(30, relu()), "opset 30");
    }

    @Test void graphStructureErrors() {
        // a node reading an undefined value; nodes out of order; a cycle
        fails(InvalidModelException.class, model(13, relu().setNode(0, node("Relu", List.of("zz"), List.of("y")))), "'zz'", "topological");
        GraphProto.Builder outOfOrder = GraphProto.newBuilder().addInput(tensor("x", 1, 2L))
                .addNode(node("Relu", List.of("a"), List.of("y")))
                .addNode(node("Relu", List.of("x"), List.of("a")))
                .addOutput(tensor("y", 1, 2L));
        fails(InvalidModelException.class, model(13, outOfOrder), "Relu#0", "'a'");
        GraphProto.Builder cycle = GraphProto.newBuilder().addInput(tensor("x", 1, 2L))
                .addNode(node("Add", List.of("x", "b"), List.of("a")))
                .addNode(node("Relu", List.of("a"), List.of("b")))
                .addOutput(tensor("b", 1, 2L));
        fails(InvalidModelException.class, model(13, cycle), "'b'");
        // duplicate names: two nodes, two inputs, two initializers
        fails(InvalidModelException.class, model(13, relu().addNode(node("Relu", List.of("x"), List.of("y")))), "'y'", "defined");
        fails(InvalidModelException.class, model(13, relu().addInput(tensor("x", 1, 2L))), "'x'");
        fails(InvalidModelException.class, model(13, relu().addInitializer(weight("w", 1)).addInitializer(weight("w", 2))), "'w'");
        fails(InvalidModelException.class, model(13, relu().addOutput(tensor("nowhere", 1, 2L))), "nowhere");
        fails(InvalidModelException.class, model(13, relu().setNode(0, node("", List.of("x"), List.of("y")))), "op_type");
        fails(InvalidModelException.class, ModelProto.newBuilder().setIrVersion(8).build(), "no graph");
    }

    @Test void badTypesAndDims() {
        fails(InvalidModelException.class, model(13, relu().setInput(0, tensor("x", 1, -2L))), "negative");
        fails(InvalidModelException.class, model(13, relu().setInput(0, tensor("x", 1, 1L << 40, 1L << 40))), "overflow");
        fails(InvalidModelException.class, model(13, relu().setInput(0, tensor("x", 99, 2L))), "99");
        fails(InvalidModelException.class, model(13, relu().addInitializer(weight("w", 1, 2).toBuilder().addDims(5).build())), "'w'", "shape");
    }

    @Test void declaredOutputTypesAreChecked() {
        ShapeException e = fails(ShapeException.class, model(13, relu().setOutput(0, tensor("y", 11, 2L))), "f64", "f32", "'y'");
        assertEquals("r", e.node());
        fails(ShapeException.class, model(13, relu().setOutput(0, tensor("y", 1, 3L))), "[3]");
        fails(ShapeException.class, model(13, relu().setOutput(0, tensor("y", 1, 2L, 1L))), "[2,1]");
        // symbolic or unknown declared dims are compatible with static ones
        assertNotNull(load(model(13, relu().setOutput(0, tensor("y", 1, "n")))));
        assertNotNull(load(model(13, relu().setOutput(0, unranked("y", 1)))));
    }

    @Test void garbageBytesAreTypedErrors() {
        byte[] good = model(13, relu()).toByteArray();
        InvalidModelException e = assertThrows(InvalidModelException.class,
                () -> IMPORTER.importModel(Arrays.copyOf(good, good.length - 3), "t.onnx", null));
        assertTrue(e.getMessage().startsWith("model t.onnx: not a valid ONNX model"), e.getMessage());
        byte[] random = new byte[64];
        new java.util.Random(1).nextBytes(random);
        assertThrows(KilnException.class, () -> IMPORTER.importModel(random, "t.onnx", null));
        assertThrows(KilnException.class, () -> IMPORTER.importModel(java.nio.file.Path.of("/nonexistent/m.onnx")));
    }

    @Test void otherDomainsInOpsetImportAreFineWhenUnused() {
        ModelProto m = model(13, relu()).toBuilder()
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("ai.onnx.ml").setVersion(3)).build();
        assertEquals(3L, load(m).opsets().get("ai.onnx.ml"));
    }
}
