package dev.kiln.ir.text;

import dev.kiln.ir.Dim;

import java.util.Set;
import java.util.regex.Pattern;

/** Lexical conventions shared by the printer and the parser: quoting of names, string escapes. */
final class TextSyntax {
    private TextSyntax() {}

    /** Words the grammar reserves; a name spelled like one is printed quoted. */
    static final Set<String> RESERVED = Set.of("graph", "none", "loc", "dense", "dense_resource", "resources",
            "true", "false", "nan", "inf");

    private static final Pattern BARE_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_.]*");
    private static final Pattern BARE_ID = Pattern.compile("[A-Za-z0-9_.$]+");

    /** An op, attribute or symbolic dim name: bare when it lexes as one identifier, else quoted. */
    static String name(String s) {
        return BARE_NAME.matcher(s).matches() && !RESERVED.contains(s) ? s : quote(s);
    }

    /** A value reference: {@code %x}, {@code %"onnx::Mul_5"}; the omitted value is {@code none}. */
    static String value(String s) {
        if (s.isEmpty()) return "none";
        return BARE_ID.matcher(s).matches() ? "%" + s : "%" + quote(s);
    }

    /** A graph or resource symbol: {@code @mlp}, {@code @"my model"}. */
    static String symbol(String s) {
        return BARE_ID.matcher(s).matches() ? "@" + s : "@" + quote(s);
    }

    static String dim(Dim d) {
        return switch (d) {
            case Dim.Static s -> Long.toString(s.size());
            case Dim.Sym s -> s.equals(Dim.UNKNOWN) ? "?" : name(s.name());
        };
    }

    /** A double-quoted string; everything outside printable ASCII is escaped, so the text is pure ASCII. */
    static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c >= 0x20 && c < 0x7F) b.append(c);
                    else b.append(String.format("\\u%04X", (int) c));
                }
            }
        }
        return b.append('"').toString();
    }

    /** The inverse of {@link #quote}: strips the quotes and resolves escapes (the lexer has checked them). */
    static String unquote(String token) {
        StringBuilder b = new StringBuilder(token.length());
        for (int i = 1; i < token.length() - 1; i++) {
            char c = token.charAt(i);
            if (c != '\\') { b.append(c); continue; }
            char e = token.charAt(++i);
            switch (e) {
                case 'n' -> b.append('\n');
                case 'r' -> b.append('\r');
                case 't' -> b.append('\t');
                case 'u' -> { b.append((char) Integer.parseInt(token.substring(i + 1, i + 5), 16)); i += 4; }
                default -> b.append(e);
            }
        }
        return b.toString();
    }
}
