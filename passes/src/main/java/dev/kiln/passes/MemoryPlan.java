package dev.kiln.passes;

import java.util.Map;

/**
 * Where every tensor of a compiled graph lives: activations at offsets in one device arena (reused once a
 * value is dead), constants at offsets in one weights block. {@code peakBytes} is the arena size.
 */
public record MemoryPlan(Map<String, Slot> arena, Map<String, Slot> weights, long peakBytes, long weightBytes,
                         long naiveBytes) {
    /** A byte range. Views (aliases) share their source's offset. */
    public record Slot(long offset, long bytes) {}

    public Slot slot(String value) {
        Slot s = arena.get(value);
        if (s == null) s = weights.get(value);
        if (s == null) throw new IllegalArgumentException("no memory planned for %" + value);
        return s;
    }

    public boolean isWeight(String value) { return weights.containsKey(value); }

    /** "arena 1.2 MiB (naive 9.8 MiB), weights 3.4 MiB" */
    public String summary() {
        return "arena " + mib(peakBytes) + " (without reuse " + mib(naiveBytes) + "), weights " + mib(weightBytes);
    }

    static String mib(long b) { return String.format(java.util.Locale.ROOT, "%.2f MiB", b / 1048576.0); }
}
