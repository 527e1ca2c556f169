package dev.kiln.frontend;

import dev.kiln.frontend.proto.Onnx.AttributeProto;
import dev.kiln.frontend.proto.Onnx.GraphProto;
import dev.kiln.frontend.proto.Onnx.ValueInfoProto;
import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.UnsupportedException;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.kiln.frontend.Models.*;
import static org.junit.jupiter.api.Assertions.*;

/** One test per upgrade row: an old-opset node comes out in the newest signature, with the same output type. */
class OpsetUpgradesTest {
    /** A one-node model over input x; returns the imported graph. */
    private static Graph one(long opset, ValueInfoProto x, String op, List<String> outs, ValueInfoProto out, AttributeProto... attrs) {
        GraphProto.Builder g = GraphProto.newBuilder().addInput(x)
                .addNode(node(op, List.of("x"), outs, attrs)).addOutput(out);
        return OnnxImporterTest.load(model(opset, g)).graph();
    }

    private static Node last(Graph g) { return g.nodes().getLast(); }

    private static Tensor input(Graph g, Node n, int i) { return g.constantValue(n.input(i)); }

    @Test void reduceAxesBecomeAnInput() {
        Graph g = one(11, tensor("x", 1, 2L, 3L), "ReduceSum", List.of("y"), tensor("y", 1, 2L), ints("axes", 1), attr("keepdims", 0L));
        Node n = last(g);
        assertEquals(Tensor.vector(1), input(g, n, 1));
        assertFalse(n.hasAttr("axes"));
        assertEquals(0, n.attrInt("keepdims"));
        // ReduceMean moved at 18, ReduceSum at 13
        g = one(17, tensor("x", 1, 2L, 3L), "ReduceMean", List.of("y"), tensor("y", 1, 1L, 3L), ints("axes", 0));
        assertEquals(Tensor.vector(0), input(g, last(g), 1));
        // no axes attribute: reduce everything, no input added
        g = one(11, tensor("x", 1, 2L, 3L), "ReduceMean", List.of("y"), tensor("y", 1, 1L, 1L));
        assertEquals(1, last(g).inputs().size());
    }

    @Test void squeezeAndUnsqueezeAxes() {
        Graph g = one(11, tensor("x", 1, 1L, 3L), "Squeeze", List.of("y"), tensor("y", 1, 3L), ints("axes", 0));
        assertEquals(Tensor.vector(0), input(g, last(g), 1));
        g = one(12, tensor("x", 1, 3L), "Unsqueeze", List.of("y"), tensor("y", 1, 3L, 1L), ints("axes", -1));
        assertEquals(Tensor.vector(-1), input(g, last(g), 1));
    }

    @Test void splitAttributeToInputAndNumOutputs() {
        Graph g = one(11, tensor("x", 1, 6L), "Split", List.of("a", "b"), tensor("b", 1, 4L), ints("split", 2, 4));
        assertEquals(Tensor.vector(2, 4), input(g, last(g), 1));
        assertFalse(last(g).hasAttr("num_outputs"));
        g = one(13, tensor("x", 1, 6L), "Split", List.of("a", "b", "c"), tensor("c", 1, 2L));
        assertEquals(3, last(g).attrInt("num_outputs"));
        g = one(18, tensor("x", 1, 6L), "Split", List.of("a", "b"), tensor("b", 1, 3L));
        assertEquals(2, last(g).attrInt("num_outputs"));
    }

    @Test void clipMinMaxBecomeInputsOfTheInputType() {
        Graph g = one(6, tensor("x", 1, 2L), "Clip", List.of("y"), tensor("y", 1, 2L), attr("min", -1f), attr("max", 0.5f));
        Node n = last(g);
        assertEquals(Tensor.scalar(DType.F32, -1), input(g, n, 1));
        assertEquals(Tensor.scalar(DType.F32, 0.5), input(g, n, 2));
        assertTrue(n.attrs().isEmpty());
        g = one(6, tensor("x", 11, 2L), "Clip", List.of("y"), tensor("y", 11, 2L), attr("max", 2f));
        assertTrue(last(g).input(1).isNone());
        assertEquals(Tensor.scalar(DType.F64, 2), input(g, last(g), 2));
    }

    @Test void padAttributesBecomeInputs() {
        Graph g = one(2, tensor("x", 1, 2L, 3L), "Pad", List.of("y"), tensor("y", 1, 3L, 5L),
                ints("pads", 0, 1, 1, 1), attr("value", 1.5f), attr("mode", "constant"));
        Node n = last(g);
        assertEquals(Tensor.vector(0, 1, 1, 1), input(g, n, 1));
        assertEquals(Tensor.scalar(DType.F32, 1.5), input(g, n, 2));
        assertEquals("constant", n.attrString("mode", null));
        g = one(1, tensor("x", 1, 2L), "Pad", List.of("y"), tensor("y", 1, 4L), ints("paddings", 1, 1));
        assertEquals(Tensor.vector(1, 1), input(g, last(g), 1));
        assertEquals(2, last(g).inputs().size());
    }

    @Test void sliceAttributesBecomeInputs() {
        Graph g = one(9, tensor("x", 1, 4L, 5L), "Slice", List.of("y"), tensor("y", 1, 4L, 2L),
                ints("starts", 1), ints("ends", 3), ints("axes", 1));
        Node n = last(g);
        assertEquals(Tensor.vector(1), input(g, n, 1));
        assertEquals(Tensor.vector(3), input(g, n, 2));
        assertEquals(Tensor.vector(1), input(g, n, 3));
        assertTrue(n.attrs().isEmpty());
    }

    @Test void topKAndReshape() {
        Graph g = one(9, tensor("x", 1, 5L), "TopK", List.of("v", "i"), tensor("i", 7, 2L), attr("k", 2L));
        assertEquals(Tensor.vector(2), input(g, last(g), 1));
        g = one(4, tensor("x", 1, 6L), "Reshape", List.of("y"), tensor("y", 1, 2L, 3L), ints("shape", 2, 3), ints("consumed_inputs", 0));
        assertEquals(Tensor.vector(2, 3), input(g, last(g), 1));
        assertTrue(last(g).attrs().isEmpty());
    }

    @Test void dropoutAndBatchNorm() {
        Graph g = one(6, tensor("x", 1, 2L), "Dropout", List.of("y"), tensor("y", 1, 2L), attr("ratio", 0.25f), attr("is_test", 1L));
        assertEquals(Tensor.scalar(DType.F32, 0.25), input(g, last(g), 1));
        assertTrue(last(g).attrs().isEmpty());

        GraphProto.Builder bn = GraphProto.newBuilder().addInput(tensor("x", 1, 1L, 2L, 3L))
                .addInitializer(OnnxImporterTest.weight("s", 1, 1)).addInitializer(OnnxImporterTest.weight("b", 0, 0))
                .addInitializer(OnnxImporterTest.weight("m", 0, 0)).addInitializer(OnnxImporterTest.weight("v", 1, 1))
                .addNode(node("BatchNormalization", List.of("x", "s", "b", "m", "v"), List.of("y"),
                        attr("spatial", 1L), attr("is_test", 1L), ints("consumed_inputs", 0, 0, 0, 1, 1), attr("epsilon", 1e-5f)))
                .addOutput(tensor("y", 1, 1L, 2L, 3L));
        Node n = last(OnnxImporterTest.load(model(6, bn)).graph());
        assertEquals(List.of("epsilon"), n.attrs().keysView().toList());
        bn.setNode(0, bn.getNode(0).toBuilder().setAttribute(0, attr("spatial", 0L)));
        OnnxImporterTest.fails(UnsupportedException.class, model(6, bn), "spatial=0");
    }

    @Test void upsampleBecomesAsymmetricFloorResize() {
        Graph g = one(7, tensor("x", 1, 1L, 1L, 2L, 2L), "Upsample", List.of("y"), tensor("y", 1, 1L, 1L, 4L, 6L),
                floats("scales", 1, 1, 2, 3), attr("mode", "nearest"));
        Node n = last(g);
        assertEquals("Resize", n.op());
        assertTrue(n.input(1).isNone());
        assertEquals(Tensor.f32(new long[] {4}, 1, 1, 2, 3), input(g, n, 2));
        assertEquals("asymmetric", n.attrString("coordinate_transformation_mode", null));
        assertEquals("floor", n.attrString("nearest_mode", null));
        g = one(1, tensor("x", 1, 1L, 1L, 2L, 2L), "Upsample", List.of("y"), tensor("y", 1, 1L, 1L, 4L, 4L),
                attr("height_scale", 2f), attr("width_scale", 2f), attr("mode", "bilinear"));
        assertEquals(Tensor.f32(new long[] {4}, 1, 1, 2, 2), input(g, last(g), 2));
        assertEquals("linear", last(g).attrString("mode", null));
    }

    @Test void oldSoftmaxCoercesTo2d() {
        // axis 1 of a rank-3 input: rows are the flattened trailing dims
        Graph g = one(11, tensor("x", 1, 2L, 3L, 4L), "Softmax", List.of("y"), tensor("y", 1, 2L, 3L, 4L));
        assertEquals(List.of("Flatten", "Softmax", "Shape", "Reshape"), g.nodes().collect(Node::op).castToList());
        assertEquals(TensorType.of(DType.F32, 2, 12), g.nodes().get(0).output(0).type());
        assertEquals(1, g.nodes().get(1).attrInt("axis"));
        assertEquals("y", last(g).output(0).name());
        assertEquals("Softmax#0", last(g).origin());
        // axis on the last dim is the same in every opset: one node
        g = one(11, tensor("x", 1, 2L, 3L), "LogSoftmax", List.of("y"), tensor("y", 1, 2L, 3L));
        assertEquals(List.of("LogSoftmax"), g.nodes().collect(Node::op).castToList());
        assertEquals(-1, last(g).attrInt("axis"));
        // opset 13: untouched
        g = one(13, tensor("x", 1, 2L, 3L, 4L), "Hardmax", List.of("y"), tensor("y", 1, 2L, 3L, 4L), attr("axis", 1L));
        assertEquals(List.of("Hardmax"), g.nodes().collect(Node::op).castToList());
        assertEquals(1, last(g).attrInt("axis"));
    }

    @Test void castStringToAndConcatDefaultAxis() {
        Graph g = one(1, tensor("x", 1, 2L), "Cast", List.of("y"), tensor("y", 10, 2L), attr("to", "FLOAT16"));
        assertEquals(Attr.of(10L), last(g).attrs().get("to"));
        g = one(3, tensor("x", 1, 2L, 3L), "Concat", List.of("y"), tensor("y", 1, 2L, 3L));
        assertEquals(1, last(g).attrInt("axis"));
    }

    @Test void legacyBroadcastWithAxisReshapesB() {
        GraphProto.Builder b = GraphProto.newBuilder().addInput(tensor("a", 1, 2L, 3L, 4L)).addInput(tensor("b", 1, 3L))
                .addNode(node("Add", List.of("a", "b"), List.of("y"), attr("broadcast", 1L), attr("axis", 1L)))
                .addOutput(tensor("y", 1, 2L, 3L, 4L));
        Graph g = OnnxImporterTest.load(model(6, b)).graph();
        Node reshape = g.nodes().select(n -> n.op().equals("Reshape")).getFirst();
        assertEquals(Tensor.vector(0, 1), g.constantValue(reshape.input(1)));
        assertEquals(TensorType.of(DType.F32, 3, 1), reshape.output(0).type());
        assertTrue(last(g).attrs().isEmpty());
        // trailing alignment (axis = rank(a) - rank(b)) is plain numpy broadcasting
        b.setNode(0, node("Mul", List.of("a", "b"), List.of("y"), attr("broadcast", 1L), attr("axis", 2L)))
                .setInput(1, tensor("b", 1, 4L));
        g = OnnxImporterTest.load(model(6, b)).graph();
        assertEquals(List.of("Mul"), g.nodes().collect(Node::op).castToList());
    }

    @Test void gemmBroadcastAndConsumedInputsDropped() {
        GraphProto.Builder b = GraphProto.newBuilder().addInput(tensor("a", 1, 2L, 3L)).addInput(tensor("w", 1, 3L, 4L))
                .addNode(node("Gemm", List.of("a", "w"), List.of("y"), attr("broadcast", 1L), attr("alpha", 2f)))
                .addOutput(tensor("y", 1, 2L, 4L));
        assertEquals(List.of("alpha"), last(OnnxImporterTest.load(model(6, b)).graph()).attrs().keysView().toList());
        Graph g = one(5, tensor("x", 1, 2L), "Relu", List.of("y"), tensor("y", 1, 2L), ints("consumed_inputs", 0));
        assertTrue(last(g).attrs().isEmpty());
    }

    @Test void upgradeHelperNamesNeverClashWithOnnxNames() {
        // an ONNX value already named like a helper would be
        GraphProto.Builder b = GraphProto.newBuilder().addInput(tensor("x", 1, 1L, 3L))
                .addNode(node("Squeeze", List.of("x"), List.of("Squeeze#0/upgrade0"), ints("axes", 0)))
                .addOutput(tensor("Squeeze#0/upgrade0", 1, 3L));
        Graph g = OnnxImporterTest.load(model(11, b)).graph();
        assertEquals(2, g.nodes().size());
    }
    @Test void resize10ScatterAndOldTile() {
        GraphProto.Builder b = GraphProto.newBuilder().addInput(tensor("x", 1, 1L, 1L, 2L, 2L))
                .addInitializer(OnnxImporterTest.weight("sc", 1, 1, 2, 2))
                .addNode(node("Resize", List.of("x", "sc"), List.of("y"), attr("mode", "nearest")))
                .addOutput(tensor("y", 1, 1L, 1L, 4L, 4L));
        Graph g = OnnxImporterTest.load(model(10, b)).graph();
        Node n = last(g);
        assertTrue(n.input(1).isNone());
        assertEquals("sc", n.input(2).name());
        assertEquals("asymmetric", n.attrString("coordinate_transformation_mode", null));
        // Resize 11/12: an empty scales constant means "use sizes"; here roi is empty too
        b = GraphProto.newBuilder().addInput(tensor("x", 1, 1L, 1L, 2L, 2L))
                .addInitializer(OnnxImporterTest.weight("roi")).addInitializer(OnnxImporterTest.weight("sc", 1, 1, 2, 2))
                .addNode(node("Resize", List.of("x", "roi", "sc"), List.of("y")))
                .addOutput(tensor("y", 1, 1L, 1L, 4L, 4L));
        n = last(OnnxImporterTest.load(model(11, b)).graph());
        assertTrue(n.input(1).isNone());
        assertEquals("sc", n.input(2).name());
        assertFalse(n.hasAttr("coordinate_transformation_mode"));

        GraphProto.Builder t = GraphProto.newBuilder().addInput(tensor("x", 1, 2L))
                .addInitializer(OnnxImporterTest.weight("r", 2)).addInitializer(OnnxImporterTest.weight("a", 0))
                .addNode(node("Tile", List.of("x", "r", "a"), List.of("y"))).addOutput(tensor("y", 1, 4L));
        OnnxImporterTest.fails(UnsupportedException.class, model(5, t), "Tile", "opset 5");
        GraphProto.Builder sc = GraphProto.newBuilder().addInput(tensor("x", 1, 2L))
                .addNode(node("Scatter", List.of("x"), List.of("y"))).addOutput(tensor("y", 1, 2L));
        // the rename happens; the test registry has no ScatterElements, and the error says where it came from
        OnnxImporterTest.fails(UnsupportedException.class, model(9, sc), "'ScatterElements' (upgraded from 'Scatter')");
    }
}
