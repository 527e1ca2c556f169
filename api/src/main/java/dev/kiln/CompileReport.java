package dev.kiln;

import dev.kiln.passes.PassManager;

import java.util.List;

/**
 * What a compilation did: the passes run (node counts, counters, time), the launches and the distinct
 * kernels they run (repeated layers share kernels), the memory numbers (arena peak with reuse, without
 * reuse, weights) and the compile side of the {@link Timings}.
 */
public record CompileReport(String model, List<PassManager.Record> passes, int launches, int kernels, long arenaBytes,
                            long weightBytes, String memorySummary, CompileOptions.Precision precision,
                            String precisionNote, String arch, long compileMillis, Timings timings, dev.kiln.exec.Autotune.Result tuning) {
    public CompileReport { passes = List.copyOf(passes); }

    /** Without tuning (bundles, the reference path). */
    public CompileReport(String model, List<PassManager.Record> passes, int launches, int kernels, long arenaBytes, long weightBytes,
                         String memorySummary, CompileOptions.Precision precision, String precisionNote, String arch, long compileMillis,
                         Timings timings) {
        this(model, passes, launches, kernels, arenaBytes, weightBytes, memorySummary, precision, precisionNote, arch, compileMillis,
                timings, dev.kiln.exec.Autotune.Result.NONE);
    }

    public CompileReport withImportMillis(double millis) {
        return new CompileReport(model, passes, launches, kernels, arenaBytes, weightBytes, memorySummary, precision, precisionNote,
                arch, compileMillis + Math.round(millis), timings.withImport(millis), tuning);
    }

    /** {@code 33 launches of 15 distinct kernels}. */
    public String kernelSummary() {
        return launches + (launches == 1 ? " launch" : " launches") + " of " + kernels + " distinct " + (kernels == 1 ? "kernel" : "kernels");
    }

    /** The first line of {@link #toString()}. */
    public String headline() {
        return "compiled " + model + " for " + arch + " in " + compileMillis + " ms: " + kernelSummary() + ", " + memorySummary;
    }

    @Override public String toString() {
        StringBuilder b = new StringBuilder(headline() + "\n");
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
