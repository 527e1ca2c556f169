package dev.kiln.exec;

import dev.kiln.CompileOptions;
import dev.kiln.codegen.Codegen;
import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.KernelTemplate;
import dev.kiln.codegen.Tunable;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * autotune, the stage between the passes and codegen: for every node whose template is {@link Tunable}, the
 * candidate variants are compiled and timed on the GPU, each alone on random inputs, and the fastest is
 * chosen. Nodes with the same problem key (every layer of a transformer) share one timing. Choices persist
 * in a {@link TuningCache} under the problem key and the GPU's identity, so a problem is timed once per
 * machine; later compiles only look them up. Modes: {@code none} (each template's heuristic; also what AOT
 * on a machine without a GPU gets), {@code fast} (the heuristic's first {@value #FAST_CANDIDATES}
 * candidates), {@code full} (every candidate).
 */
public final class Autotune {
    public static final String NAME = "autotune";
    static final int FAST_CANDIDATES = 4;

    private Autotune() {}

    /** Times one node's kernels (a candidate variant) on a GPU. */
    public interface Timer extends AutoCloseable {
        /** Identifies the GPU for the cache: device name, arch, driver. */
        String gpu();

        /** Compiles kernels ahead of {@link #micros} (in parallel where it can); failures show up in micros. */
        default void prepare(List<KernelSpec> specs) {}

        /** Median device time of launching {@code specs} once, in microseconds; throws if they fail. */
        double micros(List<KernelSpec> specs, Graph graph);

        @Override void close();
    }

    /**
     * The stage's outcome: the choices to generate with (problem key -> variant) and what it did.
     *
     * @param lines one line per timed problem: the key, the winner, its time, how many candidates
     */
    public record Result(Map<String, String> choices, int problems, int fromCache, int candidatesTimed, long millis, List<String> lines) {
        public static final Result NONE = new Result(Map.of(), 0, 0, 0, 0, List.of());

        public String summary() {
            return problems == 0 ? "autotune: nothing to tune" : String.format(Locale.ROOT,
                    "autotune: %d problems, %d from the tuning cache, %d candidates timed in %.1f s",
                    problems, fromCache, candidatesTimed, millis / 1000.0);
        }
    }

    /** Runs the stage; {@code timer} is only used for problems the cache does not answer. */
    public static Result run(Graph g, Codegen codegen, CodegenOptions options, CompileOptions.Tune mode, TuningCache cache, Timer timer) {
        if (mode == CompileOptions.Tune.NONE) return Result.NONE;
        long t0 = System.nanoTime();
        CodegenContext plain = new CodegenContext(options);
        Map<String, String> choices = new LinkedHashMap<>();
        Map<String, TuningCache.Choice> fresh = new HashMap<>();
        List<String> lines = new ArrayList<>();
        int problems = 0, fromCache = 0, timed = 0;
        // first the problems the cache cannot answer, each with every candidate's kernels ...
        record Problem(String key, String gpuKey, List<String> tried, List<List<KernelSpec>> specs) {}
        List<Problem> todo = new ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>(); // problem keys met so far: every layer after the first shares one
        for (Node n : codegen.kernelNodes(g)) {
            KernelTemplate t = codegen.templateFor(n, g);
            if (!(t instanceof Tunable tu)) continue;
            String key = tu.problemKey(n, g, plain);
            if (!seen.add(key)) continue;
            problems++;
            List<String> cands = tu.candidates(n, g, plain);
            if (cands.size() <= 1) {
                if (cands.size() == 1) choices.put(key, cands.get(0));
                continue;
            }
            String gpuKey = key + "|" + timer.gpu();
            TuningCache.Choice known = cache.get(gpuKey);
            if (known != null && cands.contains(known.variant())) {
                choices.put(key, known.variant());
                fromCache++;
                continue;
            }
            List<String> tried = mode == CompileOptions.Tune.FAST ? cands.subList(0, Math.min(FAST_CANDIDATES, cands.size())) : cands;
            List<List<KernelSpec>> specs = new ArrayList<>();
            for (String c : tried) {
                try {
                    specs.add(t.emit(n, g, new CodegenContext(options, Map.of(key, c))));
                } catch (RuntimeException e) { // a variant the template cannot emit for this node is no candidate
                    specs.add(null);
                }
            }
            todo.add(new Problem(key, gpuKey, tried, specs));
        }
        // ... compiled together (NVRTC in parallel), then timed one after another
        timer.prepare(todo.stream().flatMap(p -> p.specs().stream()).filter(java.util.Objects::nonNull).flatMap(List::stream).toList());
        for (Problem p : todo) {
            String best = null;
            double bestUs = Double.MAX_VALUE;
            List<String> failed = new ArrayList<>();
            for (int i = 0; i < p.tried().size(); i++) {
                String c = p.tried().get(i);
                double us;
                try {
                    if (p.specs().get(i) == null) throw new IllegalStateException("not emitted");
                    us = timer.micros(p.specs().get(i), g);
                } catch (RuntimeException e) { // a variant that does not compile or launch here is no candidate
                    failed.add(c + " (" + e.getClass().getSimpleName() + ")");
                    continue;
                }
                timed++;
                if (us < bestUs) {
                    bestUs = us;
                    best = c;
                }
            }
            if (best == null) {
                lines.add(p.key() + ": every candidate failed " + failed + "; using the heuristic");
                continue;
            }
            choices.put(p.key(), best);
            fresh.put(p.gpuKey(), new TuningCache.Choice(best, bestUs));
            lines.add(String.format(Locale.ROOT, "%s: %s %.1f us (best of %d%s)", p.key(), best, bestUs, p.tried().size(),
                    failed.isEmpty() ? "" : ", failed " + failed));
        }
        cache.putAll(fresh);
        return new Result(Map.copyOf(choices), problems, fromCache, timed, (System.nanoTime() - t0) / 1_000_000, List.copyOf(lines));
    }
}
