package dev.kiln;

import dev.kiln.passes.PassManager;

import java.util.List;

/**
 * What a compilation did: the passes run (node counts, counters, time), the kernel count and the memory
 * numbers (arena peak with reuse, without reuse, weights).
 */
public record CompileReport(String model, List<PassManager.Record> passes, int kernels, long arenaBytes,
                            long weightBytes, String memorySummary, CompileOptions.Precision precision,
                            String precisionNote, String arch, long compileMillis, dev.kiln.exec.Autotune.Result tuning) {
    public CompileReport { passes = List.copyOf(passes); }

    /** Without tuning (bundles, the reference path). */
    public CompileReport(String model, List<PassManager.Record> passes, int kernels, long arenaBytes, long weightBytes,
                         String memorySummary, CompileOptions.Precision precision, String precisionNote, String arch, long compileMillis) {
        this(model, passes, kernels, arenaBytes, weightBytes, memorySummary, precision, precisionNote, arch, compileMillis,
                dev.kiln.exec.Autotune.Result.NONE);
    }

    @Override public String toString() {
        StringBuilder b = new StringBuilder("compiled " + model + " for " + arch + " in " + compileMillis + " ms: "
                + kernels + " kernels, " + memorySummary + "\n");
        for (PassManager.Record r : passes)
            b.append(String.format("  %-22s %5d -> %5d nodes  %s%n", r.pass(), r.nodesBefore(), r.nodesAfter(), r.counters()));
        if (!precisionNote.isEmpty()) b.append("  ").append(precisionNote).append('\n');
        if (tuning.problems() > 0) {
            b.append("  ").append(tuning.summary()).append('\n');
            for (String l : tuning.lines()) b.append("    ").append(l).append('\n');
        }
        return b.toString();
    }
}
