package dev.kiln.ir.text;

import org.antlr.v4.runtime.BaseErrorListener;
import org.antlr.v4.runtime.Parser;
import org.antlr.v4.runtime.RecognitionException;
import org.antlr.v4.runtime.Recognizer;
import org.antlr.v4.runtime.Token;
import org.antlr.v4.runtime.misc.IntervalSet;

import java.util.LinkedHashSet;
import java.util.Set;

/** Turns the first ANTLR syntax error into an {@link IrParseException} saying what was expected. */
final class SyntaxErrors extends BaseErrorListener {
    static final SyntaxErrors INSTANCE = new SyntaxErrors();

    @Override public void syntaxError(Recognizer<?, ?> recognizer, Object offending, int line, int charPos,
                                      String msg, RecognitionException e) {
        if (!(recognizer instanceof Parser parser)) {
            // lexer: msg is "token recognition error at: '...'"
            String bad = msg.substring(msg.indexOf(": ") + 2); // quoted by ANTLR, with line breaks escaped
            if (bad.contains("\"")) {
                if (bad.endsWith("\\n'")) bad = bad.substring(0, bad.length() - 3) + "'"; // the line break ended it
                throw new IrParseException("unterminated string or bad escape: " + bad, line, charPos + 1);
            }
            throw new IrParseException("unexpected characters " + bad, line, charPos + 1);
        }
        IntervalSet expected = e != null && e.getExpectedTokens() != null && !e.getExpectedTokens().isNil()
                ? e.getExpectedTokens() : parser.getExpectedTokens();
        Set<String> names = new LinkedHashSet<>();
        for (int t : expected.toArray()) names.add(describe(parser, t));
        String want = names.isEmpty() ? "something else" : names.size() == 1 ? names.iterator().next()
                : "one of " + String.join(", ", names);
        throw new IrParseException("expected " + want + ", found " + found((Token) offending), line, charPos + 1);
    }

    private static String found(Token t) {
        if (t == null || t.getType() == Token.EOF) return "end of input";
        String s = t.getText();
        return "'" + (s.length() > 40 ? s.substring(0, 40) + "..." : s) + "'";
    }

    private static String describe(Parser p, int type) {
        return switch (type) {
            case Token.EOF -> "end of input";
            case KilnIrParser.VALUE_ID, KilnIrParser.QUOTED_VALUE -> "a value (%name)";
            case KilnIrParser.GLOBAL_ID, KilnIrParser.QUOTED_GLOBAL -> "a symbol (@name)";
            case KilnIrParser.IDENT -> "a name";
            case KilnIrParser.STRING -> "a string";
            case KilnIrParser.INT -> "an integer";
            case KilnIrParser.FLOAT -> "a float";
            case KilnIrParser.HEX -> "a hex literal";
            default -> p.getVocabulary().getDisplayName(type);
        };
    }
}
