package dev.kiln.ir.text;

import dev.kiln.ir.DType;
import dev.kiln.ir.KilnException;
import dev.kiln.ir.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Bad text fails with an {@link IrParseException} at the right 1-based line and column, saying what is wrong. */
class ParseErrorTest {
    private static IrParseException fails(String text) {
        return assertThrows(IrParseException.class, () -> IrParser.parse(text));
    }

    private static void check(IrParseException e, int line, int column, String reason) {
        assertEquals(reason, e.reason());
        assertEquals(line, e.line());
        assertEquals(column, e.column());
        assertEquals("line " + line + ", column " + column + ": " + reason, e.getMessage());
        assertInstanceOf(KilnException.class, e);
    }

    @Test void syntaxErrorSaysWhatWasExpected() {
        check(fails("graph @g(%x f32[]) -> () {}"), 1, 13, "expected ':', found 'f32'");
        check(fails("graph @g() -> () {\n  %a = Add(%x,, %y) : f32[]\n}"), 2, 15, "expected one of 'none', a value (%name), found ','");
        check(fails("graph @g() -> () {\n"), 2, 1, "expected one of '}', 'none', a name, a value (%name), a string, found end of input");
        check(fails("graph @g() -> () {}\ngraph @h() -> () {}"), 2, 1, "expected one of end of input, 'resources', found 'graph'");
    }

    @Test void lexicalError() {
        check(fails("graph @g() -> () {\n  %a = Op() {s = \"open\n}"), 2, 18, "unterminated string or bad escape: '\"open'");
        check(fails("graph @g() -> () { # }"), 1, 20, "unexpected characters '#'");
    }

    @Test void useBeforeDefinition() {
        check(fails("graph @g() -> () {\n  %a = Neg(%b) : f32[]\n  %b = Neg(%a) : f32[]\n}"), 2, 12,
                "operand %b is not defined (before this use)");
    }

    @Test void valueDefinedTwice() {
        check(fails("graph @g(%a: f32[]) -> () {\n  %b, %a = Split(%a) : f32[], f32[]\n}"), 2, 7,
                "value %a is already defined at line 1, column 10");
    }

    @Test void outputTypeMustMatchDefinition() {
        check(fails("graph @g(%x: f32[2]) -> (%x: f32[3]) {\n}"), 1, 26,
                "graph output %x is declared f32[3] but defined as f32[2] at line 1, column 10");
        check(fails("graph @g() -> (%y: f32[3]) {\n}"), 1, 16, "graph output %y is not defined (before this use)");
    }

    @Test void typesMustMatchResults() {
        check(fails("graph @g() -> () {\n  %a, none, %b = Op() : f32[]\n}"), 2, 3,
                "node defines 2 value(s) but gives 1 type(s) after ':' (one per result that is not none)");
    }

    @Test void unknownDTypeAndBadDims() {
        check(fails("graph @g(%x: f33[]) -> () {}"), 1, 14, "unknown dtype 'f33'");
        check(fails("graph @g(%x: f32[2,-1]) -> () {}"), 1, 20, "a dimension cannot be negative: -1");
    }

    @Test void badAttributes() {
        check(fails("graph @g() -> () {\n  Op() {a = 1, a = 2}\n}"), 2, 16, "attribute a is given twice");
        check(fails("graph @g() -> () {\n  Op() {a = [1, 2.0]}\n}"), 2, 17,
                "list element 2.0 is not of the list's kind (ints); lists are ints [1, 2], floats [1.0, 2.0] or strings [\"a\"]");
        check(fails("graph @g() -> () {\n  Op() {a = things[]}\n}"), 2, 13,
                "an empty list is written ints[], floats[] or strings[], not things[]");
        check(fails("graph @g() -> () {\n  Op() {a = 99999999999999999999}\n}"), 2, 13,
                "integer 99999999999999999999 does not fit 64 bits");
        check(fails("graph @g() -> () {\n  Op() {a = true}\n}"), 2, 13,
                "an attribute is an int, float, string, list, tensor or graph, not true");
    }

    @Test void badTensors() {
        check(fails("graph @g() -> () {\n  Op() {t = dense<i8[2]> [1, 300]}\n}"), 2, 30, "300 is out of range for i8 [-128, 127]");
        check(fails("graph @g() -> () {\n  Op() {t = dense<f32[3]> [1.0, 2.0]}\n}"), 2, 13, "dense<f32[3]> needs 3 elements but has 2");
        check(fails("graph @g() -> () {\n  Op() {t = dense<f32[N]> []}\n}"), 2, 19, "a tensor literal needs a static shape, not f32[N]");
        check(fails("graph @g() -> () {\n  Op() {t = dense<i32[1]> [1.5]}\n}"), 2, 28, "float literal 1.5 does not fit a i32 tensor");
        check(fails("graph @g() -> () {\n  Op() {t = dense<u8[1]> [0x100]}\n}"), 2, 27, "bit pattern 0x100 is wider than u8's 8 bits");
    }

    @Test void missingOrMismatchedResource() {
        String text = "graph @g() -> () {\n  Op() {t = dense_resource<f32[20]> @w}\n}";
        check(fails(text), 2, 37, "resource @w is missing: the text has no resources entry for it and no resolver was given");
        IrParseException e = assertThrows(IrParseException.class, () -> IrParser.parse(text, Map.<String, Tensor>of()::get));
        check(e, 2, 37, "resource @w is missing: the text has no resources entry for it and the resolver does not know it");
        Tensor wrong = Tensor.zeros(DType.F32, new long[] {21});
        e = assertThrows(IrParseException.class, () -> IrParser.parse(text, Map.of("w", wrong)::get));
        check(e, 2, 37, "resource @w is f32[21] but the text declares f32[20]");
        check(fails(text + "\nresources {\n  @w = \"0x0000\"\n}"), 2, 37, "resource @w holds 2 bytes but f32[20] needs 80");
        check(fails(text + "\nresources {\n  @w = \"0x0\"\n}"), 5, 8,
                "resource bytes must be \"0x\" followed by an even number of hex digits");
    }
}
