package dev.kiln.ir;

import dev.kiln.ir.ref.Interpreter;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class GraphTest {
    @Test
    void builderInfersTypesAndInterpreterRuns() {
        GraphBuilder b = new GraphBuilder("g");
        Value x = b.input("x", new TensorType(DType.F32, Shape.of(Dim.sym("N"), Dim.of(2))));
        Value y = b.op("Identity", x);
        Value c = b.constant("c", Tensor.f32(new long[] {2}, 1, 2));
        b.output(y).output(c);
        Graph g = b.build();
        assertEquals(x.type(), y.type());
        List<Tensor> out = Interpreter.run(g, List.of(Tensor.f32(new long[] {1, 2}, 5, 6)));
        assertEquals(Tensor.f32(new long[] {1, 2}, 5, 6), out.get(0));
        assertEquals(Tensor.f32(new long[] {2}, 1, 2), out.get(1));
        assertSame(c, g.outputs().get(1));
        assertEquals(Tensor.f32(new long[] {2}, 1, 2), g.constantValue(c));
    }

    @Test
    void interpreterChecksInputShapesAndSymbols() {
        GraphBuilder b = new GraphBuilder("g");
        Value x = b.input("x", new TensorType(DType.F32, Shape.of(Dim.sym("N"))));
        Value z = b.input("z", new TensorType(DType.F32, Shape.of(Dim.sym("N"))));
        b.output(b.op("Identity", x)).output(b.op("Identity", z));
        Graph g = b.build();
        var e = assertThrows(EvaluationException.class,
                () -> Interpreter.run(g, List.of(Tensor.f32(new long[] {2}, 1, 2), Tensor.f32(new long[] {3}, 1, 2, 3))));
        assertTrue(e.getMessage().contains("binds dim N to 3"), e.getMessage());
        assertThrows(EvaluationException.class, () -> Interpreter.run(g, List.of(Tensor.vector(1, 2), Tensor.vector(1, 2))));
    }

    @Test
    void verifierRejectsUseBeforeDefinitionAndDuplicates() {
        TensorType t = TensorType.of(DType.F32, 2);
        Value a = new Value("a", t), b = new Value("b", t);
        Graph useBeforeDef = new Graph("g", List.of(), List.of(
                Node.of("Identity", List.of(a), List.of(b), Map.of(), "n1")), List.of(b));
        var e = assertThrows(VerifyException.class, () -> Verifier.verify(useBeforeDef));
        assertTrue(e.getMessage().contains("node 'n1' (Identity)") && e.getMessage().contains("not defined before"), e.getMessage());

        Graph twice = new Graph("g", List.of(a), List.of(Node.of("Identity", List.of(a), List.of(a), Map.of(), "n2")), List.of(a));
        assertThrows(VerifyException.class, () -> Verifier.verify(twice));

        Graph unknown = new Graph("g", List.of(a), List.of(Node.of("Frobnicate", List.of(a), List.of(b), Map.of(), "n3")), List.of(b));
        var u = assertThrows(VerifyException.class, () -> Verifier.verify(unknown));
        assertTrue(u.getMessage().contains("unknown op 'Frobnicate'"), u.getMessage());

        Graph wrongType = new Graph("g", List.of(a), List.of(
                Node.of("Identity", List.of(a), List.of(new Value("b", TensorType.of(DType.I64, 2))), Map.of(), "n4")), List.of());
        assertThrows(VerifyException.class, () -> Verifier.verify(wrongType));

        Graph arity = new Graph("g", List.of(a), List.of(Node.of("Identity", List.of(a, a), List.of(b), Map.of(), "n5")), List.of(b));
        var ar = assertThrows(VerifyException.class, () -> Verifier.verify(arity));
        assertTrue(ar.getMessage().contains("takes 1 inputs, has 2"), ar.getMessage());
    }

    @Test
    void nodeWithersReturnThisWhenUnchanged() {
        TensorType t = TensorType.of(DType.F32, 2);
        Node n = Node.of("Identity", List.of(new Value("a", t)), List.of(new Value("b", t)), Map.of("k", Attr.of(1)), "");
        assertSame(n, n.withAttr("k", Attr.of(1)));
        assertSame(n, n.withInputs(n.inputs().castToList()));
        assertNotSame(n, n.withAttr("k", Attr.of(2)));
        assertEquals(2, n.withAttr("k", Attr.of(2)).attrInt("k"));
        var e = assertThrows(InvalidModelException.class, () -> n.attrFloats("k"));
        assertTrue(e.getMessage().contains("should be floats but is int"), e.getMessage());
    }

    @Test
    void errorsCarryContext() {
        KilnException e = new ShapeException("bad rank").withContext("m.onnx", "conv1", "Conv");
        assertInstanceOf(ShapeException.class, e);
        assertEquals("model m.onnx, node 'conv1' (Conv): bad rank", e.getMessage());
        assertEquals("bad rank", e.detail());
    }
}
