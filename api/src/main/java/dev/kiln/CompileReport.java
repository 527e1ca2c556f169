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
                            String precisionNote, String arch, long compileMillis, Timings timings, dev.kiln.exec.Autotune.Result tuning,
                            boolean planCacheHit) {
    public CompileReport { passes = List.copyOf(passes); }

    /** A compilation that ran (not a plan cache hit). */
    public CompileReport(String model, List<PassManager.Record> passes, int launches, int kernels, long arenaBytes, long weightBytes,
                         String memorySummary, CompileOptions.Precision precision, String precisionNote, String arch, long compileMillis,
                         Timings timings, dev.kiln.exec.Autotune.Result tuning) {
        this(model, passes, launches, kernels, arenaBytes, weightBytes, memorySummary, precision, precisionNote, arch, compileMillis,
                timings, tuning, false);
    }

    /** Without tuning (bundles, the reference path). */
    public CompileReport(String model, List<PassManager.Record> passes, int launches, int kernels, long arenaBytes, long weightBytes,
                         String memorySummary, CompileOptions.Precision precision, String precisionNote, String arch, long compileMillis,
                         Timings timings) {
        this(model, passes, launches, kernels, arenaBytes, weightBytes, memorySummary, precision, precisionNote, arch, compileMillis,
                timings, dev.kiln.exec.Autotune.Result.NONE);
    }

    public CompileReport withImportMillis(double millis) {
        return new CompileReport(model, passes, launches, kernels, arenaBytes, weightBytes, memorySummary, precision, precisionNote,
                arch, compileMillis + Math.round(millis), timings.withImport(millis), tuning, planCacheHit);
    }

    /** This report for a model found in the plan cache in {@code millis} (hashing the model and reading the entry). */
    public CompileReport asPlanCacheHit(double millis) {
        return new CompileReport(model, passes, launches, kernels, arenaBytes, weightBytes, memorySummary, precision, precisionNote,
                arch, Math.round(millis), Timings.compile(millis, 0, 0), tuning, true);
    }

    /** {@code 33 launches of 15 distinct kernels}. */
    public String kernelSummary() {
        return launches + (launches == 1 ? " launch" : " launches") + " of " + kernels + " distinct " + (kernels == 1 ? "kernel" : "kernels");
    }

    /** The first line of {@link #toString()}. */
    public String headline() {
        if (planCacheHit)
            return "plan cache hit: " + model + " for " + arch + " in " + compileMillis + " ms with no import, passes or codegen: " + kernelSummary()
                    + ", " + memorySummary;
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
