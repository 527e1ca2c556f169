package dev.kiln.runtime;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * NVRTC rejected a kernel. The message holds the options, the arch, the compile log and the source lines
 * the log points at (NVRTC reports {@code name(LINE): error: ...}), so a codegen bug is readable from
 * the exception alone.
 */
public final class CompileException extends RuntimeException {
    private static final Pattern LOCATION = Pattern.compile("\\((\\d+)\\): (?:error|warning|catastrophic error)");

    private final String log;
    private final CompileRequest request;

    public CompileException(CompileRequest request, String log) {
        super(describe(request, log));
        this.request = request;
        this.log = log;
    }

    public String log() { return log; }

    public CompileRequest request() { return request; }

    static String describe(CompileRequest r, String log) {
        var sb = new StringBuilder("NVRTC failed to compile ").append(r.name()).append(" for ").append(r.arch())
                .append(" with options ").append(r.options()).append(":\n").append(log.strip()).append('\n');
        List<String> excerpt = offendingLines(r.source(), log);
        if (!excerpt.isEmpty()) sb.append("source lines named in the log:\n").append(String.join("\n", excerpt));
        return sb.toString();
    }

    /** Each line the log names, with one line of context either side, numbered as in the log. */
    static List<String> offendingLines(String source, String log) {
        String[] lines = source.split("\n", -1);
        var named = new TreeSet<Integer>();
        var m = LOCATION.matcher(log);
        while (m.find()) named.add(Integer.parseInt(m.group(1)));
        var show = new TreeSet<Integer>();
        for (int n : named) for (int k = n - 1; k <= n + 1; k++) if (k >= 1 && k <= lines.length) show.add(k);
        var out = new ArrayList<String>();
        for (int k : show) out.add(String.format("%s%5d | %s", named.contains(k) ? ">" : " ", k, lines[k - 1]));
        return out;
    }
}
