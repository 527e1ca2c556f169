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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Round trips of single features, with the text each one prints as (worked out by hand). */
class RoundTripTest {
    /** A graph holding one Constant node whose {@code value} is {@code t}; returns the node's line. */
    private static String constantLine(Tensor t) {
        Value c = new Value("c", t.type());
        Graph g = new Graph("g", List.of(), List.of(Node.of("Constant", List.of(), List.of(c), Map.of("value", Attr.of(t)), "")), List.of(c));
        String text = IrPrinter.print(g, IrPrinter.Options.SELF_CONTAINED);
        assertEquals(g, IrParser.parse(text), text);
        return text.lines().toList().get(1).trim();
    }

    private static String attrText(Attr a) {
        Graph g = new Graph("g", List.of(), List.of(Node.of("Op", List.of(), List.of(), Map.of("k", a), "")), List.of());
        String text = IrPrinter.print(g);
        Graph back = IrParser.parse(text);
        assertEquals(g, back, text);
        assertEquals(a.kindName(), back.nodes().get(0).attrs().get("k").kindName());
        String line = text.lines().toList().get(1).trim();
        return line.substring("Op() {k = ".length(), line.length() - 1);
    }

    @Test void attributeKindsAreDistinguishable() {
        assertEquals("3", attrText(Attr.of(3)));
        assertEquals("3.0", attrText(Attr.of(3.0)));
        assertEquals("-9223372036854775808", attrText(Attr.of(Long.MIN_VALUE)));
        assertEquals("\"3\"", attrText(Attr.of("3")));
        assertEquals("[1, 2]", attrText(Attr.ints(1, 2)));
        assertEquals("[1.0, 2.0]", attrText(Attr.floats(1, 2)));
        assertEquals("[\"a\", \"\"]", attrText(Attr.strings(List.of("a", ""))));
        assertEquals("ints[]", attrText(Attr.ints()));
        assertEquals("floats[]", attrText(Attr.floats()));
        assertEquals("strings[]", attrText(Attr.strings(List.of())));
    }

    @Test void specialFloatsParseBackToTheIdenticalDouble() {
        assertEquals("nan", attrText(Attr.of(Double.NaN)));
        assertEquals("inf", attrText(Attr.of(Double.POSITIVE_INFINITY)));
        assertEquals("-inf", attrText(Attr.of(Double.NEGATIVE_INFINITY)));
        assertEquals("-0.0", attrText(Attr.of(-0.0)));
        assertEquals("4.9E-324", attrText(Attr.of(Double.MIN_VALUE)));
        // the float32 0.1 held exactly as a double (ONNX float attributes are float32)
        assertEquals("0.10000000149011612", attrText(Attr.of((double) 0.1f)));
        Graph back = IrParser.parse("graph @g() -> () {\n  Op() {k = -0.0}\n}");
        assertEquals(Double.doubleToRawLongBits(-0.0),
                Double.doubleToRawLongBits(((Attr.Float) back.nodes().get(0).attrs().get("k")).value()));
    }

    @Test void stringsAreEscaped() {
        assertEquals("\"q\\\"b\\\\s\\n\\t\\r\\u0001\\u00E9\"", attrText(Attr.of("q\"b\\s\n\t\r\u0001\u00e9")));
    }

    @ParameterizedTest @EnumSource(DType.class)
    void everyDTypeRoundTripsInlineAndAsResource(DType d) {
        long[] small = {2, 2};
        Tensor t = d.isString() ? Tensor.ofStrings(small, new String[] {"a", "", "\"", "\u00e9"})
                : Tensor.ofDoubles(d, small, new double[] {0, 1, d.isSigned() || d.isFloat() ? -1 : 2, 1});
        assertTrue(constantLine(t).startsWith("%c = Constant() {value = dense<" + d.textName() + "[2,2]> ["));
        Tensor big = d.isString() ? Tensor.zeros(d, new long[] {17}) : Tensor.ofDoubles(d, new long[] {17}, new double[17]);
        assertTrue(constantLine(big).startsWith("%c = Constant() {value = dense" + (d.isString() ? "<" : "_resource<")));
    }

    @Test void elementsPrintAsValuesOrExactBitPatterns() {
        assertEquals("%c = Constant() {value = dense<f32[]> 1.5} : f32[]", constantLine(Tensor.scalar(DType.F32, 1.5)));
        assertEquals("%c = Constant() {value = dense<f32[0,3]> []} : f32[0,3]", constantLine(Tensor.zeros(DType.F32, new long[] {0, 3})));
        // f32 prints its shortest float text; f16 prints the exact decoded value of its nearest code
        assertEquals("dense<f32[3]> [0.1, -0.0, nan]", dense(Tensor.f32(new long[] {3}, 0.1, -0.0, Double.NaN)));
        assertEquals("dense<f16[2]> [0.0999755859375, -inf]",
                dense(Tensor.ofDoubles(DType.F16, new long[] {2}, new double[] {0.1, Double.NEGATIVE_INFINITY})));
        // a NaN payload other than the canonical one keeps its bits
        assertEquals("dense<f32[]> 0x7FC00001", dense(Tensor.ofBytes(DType.F32, new long[0], new byte[] {1, 0, (byte) 0xC0, 0x7F})));
        // f8e4m3fn: 0x7F is its NaN, 0xFF the negative NaN (not what encoding nan gives), 0x7E is 448
        assertEquals("dense<f8e4m3fn[3]> [nan, 0xFF, 448.0]",
                dense(Tensor.ofBytes(DType.F8E4M3FN, new long[] {3}, new byte[] {0x7F, (byte) 0xFF, 0x7E})));
        assertEquals("dense<u64[1]> [18446744073709551615]", dense(Tensor.ofLongs(DType.U64, new long[] {1}, new long[] {-1})));
        assertEquals("dense<i4[3]> [-8, 7, -1]", dense(Tensor.ofLongs(DType.I4, new long[] {3}, new long[] {-8, 7, -1})));
        // an i4 stored without sign extension is not a value the encoder makes: bits say it exactly
        assertEquals("dense<i4[1]> [0x0F]", dense(Tensor.ofBytes(DType.I4, new long[] {1}, new byte[] {0x0F})));
        assertEquals("dense<bool[3]> [true, false, 0x02]", dense(Tensor.ofBytes(DType.BOOL, new long[] {3}, new byte[] {1, 0, 2})));
        assertEquals("dense<string[2]> [\"a\\\"\", \"\"]", dense(Tensor.ofStrings(new long[] {2}, new String[] {"a\"", ""})));
    }

    private static String dense(Tensor t) {
        String line = constantLine(t);
        return line.substring(line.indexOf("dense"), line.indexOf("} :"));
    }

    @Test void quotedNamesAndTypes() {
        TensorType t = new TensorType(DType.F8E5M2FNUZ, Shape.of(Dim.sym("batch size"), Dim.UNKNOWN, Dim.sym("none"), Dim.of(0)));
        Value x = new Value("onnx::Mul_5", t);
        Value y = new Value("none", new TensorType(DType.I64, Shape.SCALAR));
        Graph g = new Graph("", List.of(x), List.of(Node.of("weird op", List.of(x), List.of(y), Map.of("in", Attr.of(1)), "a\nb")), List.of(y));
        String text = IrPrinter.print(g);
        assertEquals("""
                graph @""(%"onnx::Mul_5": f8e5m2fnuz["batch size",?,"none",0]) -> (%none: i64[]) {
                  %none = "weird op"(%"onnx::Mul_5") {in = 1} : i64[] loc("a\\nb")
                }
                """, text);
        assertEquals(g, IrParser.parse(text));
    }

    @Test void resourceSectionAndResolver() {
        Tensor w = Tensor.ofLongs(DType.I16, new long[] {2, 10}, new long[] {1, -1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x1234});
        Value a = new Value("w/0", w.type());
        Value b = new Value("b", w.type());
        Graph g = new Graph("g", List.of(), List.of(
                Node.of("Constant", List.of(), List.of(a), Map.of("value", Attr.of(w)), ""),
                Node.of("Pair", List.of(), List.of(b), Map.of("x", Attr.of(w), "y", Attr.of(w)), "")), List.of(a, b));
        IrPrinter.Printed p = IrPrinter.render(g, IrPrinter.Options.SELF_CONTAINED);
        // resources are named after the value holding them, plus the attribute name when it is not "value"
        assertTrue(p.text().contains("{value = dense_resource<i16[2,10]> @\"w/0\"}"), p.text());
        assertTrue(p.text().contains("{x = dense_resource<i16[2,10]> @b.x, y = dense_resource<i16[2,10]> @b.y}"), p.text());
        assertTrue(p.text().contains("  @\"w/0\" = \"0x0100ffff02000300"), p.text());
        assertTrue(p.text().endsWith("3412\"\n}\n"), p.text());
        assertEquals(g, IrParser.parse(p.text()));
        assertEquals(g, IrParser.parse(IrPrinter.print(g), p.resources()::get));
    }
}
