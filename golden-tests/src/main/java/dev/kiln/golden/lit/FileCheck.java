package dev.kiln.golden.lit;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A small FileCheck: matches CHECK directives against text, line by line.
 * <ul>
 *   <li>{@code CHECK: p} — p occurs on a line at or after the previous match;</li>
 *   <li>{@code CHECK-NEXT: p} — on the line right after the previous match;</li>
 *   <li>{@code CHECK-SAME: p} — later on the same line as the previous match;</li>
 *   <li>{@code CHECK-NOT: p} — not between the previous match and the next positive match (or the end).</li>
 * </ul>
 * Patterns are literal text with {@code {{regex}}}, captures {@code [[NAME:regex]]} and uses {@code [[NAME]]}.
 * Whitespace runs in the pattern match any whitespace run.
 */
public final class FileCheck {
    public enum Kind { CHECK, NEXT, SAME, NOT }

    public record Directive(Kind kind, String pattern, int line) {}

    /** Thrown when the text does not satisfy the directives; the message shows where and why. */
    public static final class CheckFailure extends AssertionError {
        CheckFailure(String m) { super(m); }
    }

    private static final Pattern DIRECTIVE = Pattern.compile("//\\s*CHECK(-NEXT|-SAME|-NOT)?:\\s?(.*)$");

    /** The directives in {@code text} (lines like {@code // CHECK-NEXT: ...}); line numbers are 1-based. */
    public static List<Directive> parse(String text, int firstLine) {
        List<Directive> out = new ArrayList<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            Matcher m = DIRECTIVE.matcher(lines[i].strip());
            if (!m.find()) continue;
            Kind k = m.group(1) == null ? Kind.CHECK : switch (m.group(1)) {
                case "-NEXT" -> Kind.NEXT;
                case "-SAME" -> Kind.SAME;
                default -> Kind.NOT;
            };
            out.add(new Directive(k, m.group(2).strip(), firstLine + i));
        }
        return out;
    }

    public static void check(String output, List<Directive> directives) {
        String[] lines = output.split("\n", -1);
        Map<String, String> vars = new HashMap<>();
        int line = -1, col = 0;          // position of the previous match
        List<Directive> pendingNot = new ArrayList<>();
        for (Directive d : directives) {
            if (d.kind() == Kind.NOT) { pendingNot.add(d); continue; }
            int from = line, at = -1, atCol = 0;
            if (d.kind() == Kind.SAME || d.kind() == Kind.NEXT) {
                int l = d.kind() == Kind.SAME ? line : line + 1;
                if (l >= 0 && l < lines.length) {
                    Matcher m = compile(d.pattern(), vars).matcher(lines[l]);
                    if (m.find(d.kind() == Kind.SAME ? col : 0)) { at = l; atCol = m.end(); capture(m, d.pattern(), vars); }
                }
            } else {
                for (int l = Math.max(line + (line < 0 ? 1 : 0), 0); l < lines.length && at < 0; l++) {
                    Matcher m = compile(d.pattern(), vars).matcher(lines[l]);
                    if (m.find(l == line ? col : 0)) { at = l; atCol = m.end(); capture(m, d.pattern(), vars); }
                }
            }
            if (at < 0) throw fail(d, "no match" + (line >= 0 ? " after output line " + (line + 1) : ""), lines, line);
            for (Directive n : pendingNot) checkNot(n, lines, vars, from, at);
            pendingNot.clear();
            line = at;
            col = atCol;
        }
        for (Directive n : pendingNot) checkNot(n, lines, vars, line, lines.length);
    }

    private static void checkNot(Directive d, String[] lines, Map<String, String> vars, int from, int to) {
        for (int l = Math.max(from, 0); l < Math.min(to + 1, lines.length); l++)
            if (compile(d.pattern(), vars).matcher(lines[l]).find())
                throw fail(d, "CHECK-NOT pattern found on output line " + (l + 1) + ": " + lines[l].strip(), lines, -1);
    }

    private static final Pattern TOKEN = Pattern.compile("\\{\\{(.*?)}}|\\[\\[([A-Za-z_][A-Za-z0-9_]*)(?::(.*?))?]]");

    private static Pattern compile(String pat, Map<String, String> vars) {
        StringBuilder re = new StringBuilder();
        Matcher m = TOKEN.matcher(pat);
        int last = 0;
        while (m.find()) {
            re.append(literal(pat.substring(last, m.start())));
            if (m.group(1) != null) re.append('(').append(m.group(1)).append(')');
            else if (m.group(3) != null) re.append("(?<").append(m.group(2)).append('>').append(m.group(3)).append(')');
            else {
                String v = vars.get(m.group(2));
                if (v == null) throw new CheckFailure("pattern uses [[" + m.group(2) + "]] before it is captured: " + pat);
                re.append(Pattern.quote(v));
            }
            last = m.end();
        }
        re.append(literal(pat.substring(last)));
        return Pattern.compile(re.toString());
    }

    private static String literal(String s) {
        StringBuilder b = new StringBuilder();
        String[] parts = s.split("\\s+", -1);
        for (int i = 0; i < parts.length; i++) {
            if (i > 0) b.append("\\s+");
            if (!parts[i].isEmpty()) b.append(Pattern.quote(parts[i]));
        }
        return b.toString();
    }

    private static void capture(Matcher m, String pat, Map<String, String> vars) {
        Matcher t = TOKEN.matcher(pat);
        while (t.find()) if (t.group(2) != null && t.group(3) != null) vars.put(t.group(2), m.group(t.group(2)));
    }

    private static CheckFailure fail(Directive d, String why, String[] lines, int near) {
        StringBuilder b = new StringBuilder("line " + d.line() + ": " + d.kind() + ": " + d.pattern() + "\n  " + why + "\n  output:\n");
        for (int i = 0; i < lines.length; i++) b.append(i == near ? "  > " : "    ").append(lines[i]).append('\n');
        return new CheckFailure(b.toString());
    }
}
