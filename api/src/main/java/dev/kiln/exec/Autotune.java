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
import dev.kiln.runtime.CompilePool;

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
 * on a machine without a GPU gets), {@code fast} and {@code full} (every candidate).
 *
 * <p>{@code fast}, the default, is for the first compile's wall time: per problem the heuristic's choice (which
 * codegen compiles anyway) and, in rank order, the candidates whose {@link Tunable#estimate} is within
 * {@value #FAST_MARGIN} of the best estimate, at most {@value #FAST_CANDIDATES}; over the whole model only as many
 * candidates beyond each problem's first as fill the last NVRTC wave the compile needs anyway, plus a wave when the
 * model is heavy ({@link #fastExtra}), given out in rounds, heaviest problem first ({@link #weight}). A candidate whose kernels have the same source as an earlier one's is timed once.
 *
 * <p>Candidates are emitted through {@link Codegen#emit}, so their sources are codegen's: the winner's binary is
 * the final kernel's, in the kernel cache before codegen runs. The untuned nodes' kernels compile in the same
 * pool (they do not depend on the choices), wgmma kernels and long sources first.
 */
public final class Autotune {
    public static final String NAME = "autotune";
    static final int FAST_CANDIDATES = 4;
    /** How far above the best estimate a candidate may be and still be timed by {@code fast}. */
    static final double FAST_MARGIN = 0.15;
    /** How many candidates beyond each problem's first {@code fast} compiles over a whole model (one NVRTC wave on 16 threads). */
    static final int FAST_EXTRA = 16;
    /** The estimated time per run (us, the tuned nodes' best estimates) from which {@code fast} spends a whole wave. */
    static final double HEAVY_US = 1000;
    /** What wgmma kernels define (runtime's CompileRequest.ARCH_SPECIFIC_MARKER): they take NVRTC the longest. */
    private static final String ARCH_SPECIFIC = dev.kiln.runtime.CompileRequest.ARCH_SPECIFIC_MARKER;

    private Autotune() {}

    /** Times one node's kernels (a candidate variant) on a GPU. */
    public interface Timer extends AutoCloseable {
        /** Identifies the GPU for the cache: device name, arch, driver. */
        String gpu();

        /** Compiles kernels ahead of {@link #micros} (in parallel where it can); failures show up in micros. */
        default void prepare(List<KernelSpec> specs) {}

        /** How many kernels {@link #prepare} compiles at once: {@code fast} sizes its budget in these waves. */
        default int compileThreads() { return CompilePool.THREADS; }

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
        // first the problems the cache cannot answer, each with the candidates it will time ...
        record Problem(String key, String gpuKey, List<String> tried, List<String> notes, int offered, List<List<KernelSpec>> specs) {}
        record Open(Node node, String key, String gpuKey, List<String> cands, double[] estimates, List<Integer> picked) {}
        Map<String, Integer> uses = new HashMap<>(); // nodes per problem key: every layer after the first shares one
        Map<String, Node> firstNode = new LinkedHashMap<>();
        List<Node> untuned = new ArrayList<>();
        for (Node n : codegen.kernelNodes(g)) {
            if (codegen.templateFor(n, g) instanceof Tunable tu) {
                String key = tu.problemKey(n, g, plain);
                uses.merge(key, 1, Integer::sum);
                firstNode.putIfAbsent(key, n);
            } else untuned.add(n);
        }
        List<Open> open = new ArrayList<>();
        for (var e : firstNode.entrySet()) {
            String key = e.getKey();
            Node n = e.getValue();
            Tunable tu = (Tunable) codegen.templateFor(n, g);
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
            double[] estimates = new double[cands.size()];
            for (int i = 0; i < cands.size(); i++) estimates[i] = tu.estimate(n, g, plain, cands.get(i));
            List<Integer> picked = mode == CompileOptions.Tune.FAST ? fast(estimates)
                    : java.util.stream.IntStream.range(0, cands.size()).boxed().toList();
            open.add(new Open(n, key, gpuKey, cands, estimates, picked));
        }
        // the other nodes' kernels do not depend on the choices: they go into the same pool as the candidates, so
        // codegen's NVRTC later finds every kernel in the kernel cache (the candidates' sources are codegen's too)
        List<KernelSpec> untunedKernels = new ArrayList<>();
        if (!open.isEmpty())
            for (Node n : untuned) {
                try {
                    untunedKernels.addAll(codegen.emit(n, g, plain));
                } catch (RuntimeException e) { // codegen reports it
                }
            }
        if (mode == CompileOptions.Tune.FAST) {
            double[] weights = new double[open.size()];
            double total = 0;
            List<List<Integer>> picks = new ArrayList<>();
            for (int i = 0; i < open.size(); i++) {
                weights[i] = weight(open.get(i).estimates(), uses.get(open.get(i).key()));
                total += weights[i];
                picks.add(open.get(i).picked());
            }
            long base = open.size() + untunedKernels.stream().map(KernelSpec::source).distinct().count();
            List<List<Integer>> kept = budget(picks, weights, fastExtra(base, timer.compileThreads(), total));
            for (int i = 0; i < open.size(); i++) {
                Open o = open.get(i);
                open.set(i, new Open(o.node(), o.key(), o.gpuKey(), o.cands(), o.estimates(), kept.get(i)));
            }
        }
        List<Problem> todo = new ArrayList<>();
        for (Open o : open) {
            List<String> tried = new ArrayList<>(), notes = new ArrayList<>();
            List<List<KernelSpec>> specs = new ArrayList<>();
            java.util.Set<List<String>> sources = new java.util.HashSet<>(); // a variant that generates an earlier one's kernels adds nothing
            for (int i : o.picked()) {
                String c = o.cands().get(i);
                List<KernelSpec> k;
                try {
                    k = codegen.emit(o.node(), g, new CodegenContext(options, Map.of(o.key(), c)));
                } catch (RuntimeException e) { // a variant the template cannot emit for this node is no candidate
                    k = null;
                }
                if (k != null && !sources.add(k.stream().map(KernelSpec::source).toList())) continue;
                tried.add(c);
                notes.add(Double.isNaN(o.estimates()[i]) ? c : String.format(Locale.ROOT, "%s ~%.1f", c, o.estimates()[i]));
                specs.add(k);
            }
            todo.add(new Problem(o.key(), o.gpuKey(), tried, notes, o.cands().size(), specs));
        }
        // ... compiled together (NVRTC in parallel), then timed one after another
        List<KernelSpec> compile = new ArrayList<>(todo.stream().flatMap(p -> p.specs().stream()).filter(java.util.Objects::nonNull).flatMap(List::stream).toList());
        if (!todo.isEmpty()) compile.addAll(untunedKernels);
        timer.prepare(compileOrder(compile));
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
            lines.add(String.format(Locale.ROOT, "%s: %s %.1f us (best of %d of %d: %s%s)", p.key(), best, bestUs, p.tried().size(), p.offered(),
                    String.join(", ", p.notes()), failed.isEmpty() ? "" : "; failed " + failed));
        }
        cache.putAll(fresh);
        return new Result(Map.copyOf(choices), problems, fromCache, timed, (System.nanoTime() - t0) / 1_000_000, List.copyOf(lines));
    }

    /**
     * {@code fast}'s pick among a problem's candidates (indices into the heuristic's ranking, whose first is its
     * choice): the first, then in rank order those whose estimate is within {@value #FAST_MARGIN} of the best
     * estimate, at most {@value #FAST_CANDIDATES} in all. A candidate without an estimate (NaN: the template has
     * no cost model) is kept by rank alone.
     */
    static List<Integer> fast(double[] estimates) {
        double best = Double.MAX_VALUE;
        for (double e : estimates) if (!Double.isNaN(e)) best = Math.min(best, e);
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < estimates.length && out.size() < FAST_CANDIDATES; i++)
            if (i == 0 || Double.isNaN(estimates[i]) || estimates[i] <= best * (1 + FAST_MARGIN)) out.add(i);
        return out;
    }

    /**
     * A problem's share of the model's time as the template models it: its best estimate times the nodes that
     * share it (1 per node where there is no estimate).
     */
    /**
     * How many candidates beyond each problem's first {@code fast} compiles: the free slots of the last NVRTC wave
     * the compile needs anyway ({@code base} kernels on {@code threads}), so tuning adds no wave; and one more wave
     * ({@value #FAST_EXTRA}) when the tuned nodes' estimated time per run reaches {@value #HEAVY_US} us, where a
     * better tile repays a second of compile within a few thousand runs (ResNet-50 at batch 32, not at batch 1).
     */
    static int fastExtra(long base, int threads, double estimatedUs) {
        int t = Math.max(1, threads);
        int slack = (int) ((t - base % t) % t);
        return slack + (estimatedUs >= HEAVY_US ? FAST_EXTRA : 0);
    }

    static double weight(double[] estimates, int nodes) {
        double best = Double.NaN;
        for (double e : estimates) if (!Double.isNaN(e)) best = Double.isNaN(best) ? e : Math.min(best, e);
        return (Double.isNaN(best) ? 1 : best) * nodes;
    }

    /**
     * {@code fast}'s budget: each problem keeps its first pick (the heuristic's choice, which codegen compiles
     * anyway); the others, at most {@code extra} over the model, go out in rounds (every problem's second pick,
     * then every third...), heaviest problem first in each round.
     */
    static List<List<Integer>> budget(List<List<Integer>> picks, double[] weights, int extra) {
        List<List<Integer>> out = new ArrayList<>();
        for (List<Integer> p : picks) out.add(new ArrayList<>(p.subList(0, Math.min(1, p.size()))));
        Integer[] order = java.util.stream.IntStream.range(0, picks.size()).boxed().toArray(Integer[]::new);
        java.util.Arrays.sort(order, java.util.Comparator.comparingDouble((Integer i) -> -weights[i])); // stable: ties keep model order
        for (int round = 1, left = extra; left > 0; round++) {
            boolean any = false;
            for (int i : order)
                if (round < picks.get(i).size() && left > 0) {
                    out.get(i).add(picks.get(i).get(round));
                    left--;
                    any = true;
                }
            if (!any) break;
        }
        return out;
    }

    /**
     * The order the pool compiles in: arch-specific (wgmma) kernels first, then longer sources first, so the
     * slowest compiles do not start last and leave the pool waiting on one thread; each source once.
     */
    static List<KernelSpec> compileOrder(List<KernelSpec> specs) {
        Map<String, KernelSpec> distinct = new LinkedHashMap<>();
        for (KernelSpec k : specs) distinct.putIfAbsent(k.source(), k);
        List<KernelSpec> out = new ArrayList<>(distinct.values());
        out.sort(java.util.Comparator.comparing((KernelSpec k) -> !k.source().contains(ARCH_SPECIFIC))
                .thenComparing(k -> -k.source().length()));
        return out;
    }
}
