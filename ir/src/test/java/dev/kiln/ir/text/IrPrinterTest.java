package dev.kiln.ir.text;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Golden prints of small hand-built graphs; each also parses back to an equal graph. */
class IrPrinterTest {
    static final TensorType X_T = new TensorType(DType.F32, Shape.of(Dim.sym("N"), Dim.of(4)));

    static Value v(String name, TensorType t) { return new Value(name, t); }

    @Test void mlpWithInlineAndResourceConstants() {
        Value x = v("x", X_T);
        Tensor w = Tensor.ofDoubles(DType.F32, new long[] {4, 5}, new double[20]);
        Value w1 = v("w1", w.type());
        Value b = v("b", TensorType.of(DType.F32, 2));
        Value h = v("h", new TensorType(DType.F32, Shape.of(Dim.sym("N"), Dim.of(5))));
        Graph g = new Graph("mlp", List.of(x), List.of(
                Node.of("Constant", List.of(), List.of(w1), Map.of("value", Attr.of(w)), ""),
                Node.of("Constant", List.of(), List.of(b), Map.of("value", Attr.of(Tensor.f32(new long[] {2}, 0.5, -1.0))), ""),
                Node.of("MatMul", List.of(x, w1), List.of(h), Map.of(), "fc1")), List.of(h));
        String want = """
                graph @mlp(%x: f32[N,4]) -> (%h: f32[N,5]) {
                  %w1 = Constant() {value = dense_resource<f32[4,5]> @w1} : f32[4,5]
                  %b = Constant() {value = dense<f32[2]> [0.5, -1.0]} : f32[2]
                  %h = MatMul(%x, %w1) : f32[N,5] loc("fc1")
                }
                """;
        assertEquals(want, IrPrinter.print(g));
        String full = IrPrinter.print(g, IrPrinter.Options.SELF_CONTAINED);
        assertEquals(want + "resources {\n  @w1 = \"0x" + "00".repeat(80) + "\"\n}\n", full);
        assertEquals(g, IrParser.parse(full));
        assertEquals(g, IrParser.parse(want, Map.of("w1", w)::get));
    }

    @Test void omittedValuesQuotedNamesAndSortedAttributes() {
        Value x = v("/layer.0/Add_output_0", X_T);
        Value c = v("onnx::Mul_5", TensorType.of(DType.F32));
        Value a = v("a", X_T);
        Value m = v("mask", new TensorType(DType.BOOL, Shape.UNRANKED));
        Graph g = new Graph("my model", List.of(x, c), List.of(
                Node.of("Clip", List.of(x, Value.NONE, c), List.of(a), Map.of(), ""),
                Node.of("Dropout", List.of(a), List.of(Value.NONE, m),
                        Map.of("seed", Attr.of(3), "alpha", Attr.of(3.0), "modes", Attr.strings(List.of("a\"b", "")),
                                "axes", Attr.ints(), "graph", Attr.floats(-0.0, Double.NaN)), "drop/0")),
                List.of(a, m));
        String want = """
                graph @"my model"(%"/layer.0/Add_output_0": f32[N,4], %"onnx::Mul_5": f32[]) -> (%a: f32[N,4], %mask: bool[*]) {
                  %a = Clip(%"/layer.0/Add_output_0", none, %"onnx::Mul_5") : f32[N,4]
                  none, %mask = Dropout(%a) {alpha = 3.0, axes = ints[], "graph" = [-0.0, nan], modes = ["a\\"b", ""], seed = 3} : bool[*] loc("drop/0")
                }
                """;
        assertEquals(want, IrPrinter.print(g));
        assertEquals(g, IrParser.parse(want));
    }

    @Test void subgraphAttributePrintsNested() {
        Value cond = v("cond", TensorType.of(DType.BOOL));
        Value y = v("y", TensorType.of(DType.I64, 2));
        Value t = v("t", TensorType.of(DType.I64, 2));
        Graph then = new Graph("then", List.of(), List.of(
                Node.of("Constant", List.of(), List.of(t), Map.of("value", Attr.of(Tensor.vector(1, -2))), "")), List.of(t));
        Graph g = new Graph("main", List.of(cond), List.of(
                Node.of("If", List.of(cond), List.of(y), Map.of("then_branch", new Attr.GraphValue(then)), "")), List.of(y));
        String want = """
                graph @main(%cond: bool[]) -> (%y: i64[2]) {
                  %y = If(%cond) {then_branch = graph @then() -> (%t: i64[2]) {
                    %t = Constant() {value = dense<i64[2]> [1, -2]} : i64[2]
                  }} : i64[2]
                }
                """;
        assertEquals(want, IrPrinter.print(g));
        assertEquals(g, IrParser.parse(want));
    }
}
