package dev.kiln.passes;

import java.util.LinkedHashMap;
import java.util.Map;

/** What a running pass can report: named counters ("chains fused" = 41) shown in logs and dumps. */
public final class PassContext {
    private final Map<String, Long> counters = new LinkedHashMap<>();

    public void count(String what, long n) { counters.merge(what, n, Long::sum); }

    public void count(String what) { count(what, 1); }

    public Map<String, Long> counters() { return counters; }

    /** "fused 41 chains, removed 3 nodes" style summary; empty when nothing was counted. */
    public String summary() {
        StringBuilder b = new StringBuilder();
        counters.forEach((k, v) -> b.append(b.isEmpty() ? "" : ", ").append(k).append(' ').append(v));
        return b.toString();
    }
}
