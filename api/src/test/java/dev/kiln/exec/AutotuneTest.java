package dev.kiln.exec;

import dev.kiln.CompileOptions;
import dev.kiln.codegen.Codegen;
import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.KernelTemplate;
import dev.kiln.codegen.Tunable;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The autotune stage against a fake template and timer: what it times, what it picks, what it remembers. */
class AutotuneTest {
    /** Relu nodes are "tunable" here: variants v0..v5; the problem key is the shape, so equal layers share it. */
    static final class FakeTemplate implements KernelTemplate, Tunable {
        @Override public String name() { return "fake"; }
        @Override public boolean accepts(Node n, Graph g) { return true; }
        @Override public String problemKey(Node n, Graph g, CodegenContext c) { return "relu " + n.output(0).type(); }
        @Override public List<String> candidates(Node n, Graph g, CodegenContext c) { return List.of("v0", "v1", "v2", "v3", "v4", "v5"); }
        @Override public List<KernelSpec> emit(Node n, Graph g, CodegenContext c) {
            String v = c.choice(problemKey(n, g, c));
            String variant = v == null ? "heuristic" : v;
            return List.of(new KernelSpec("k", "// " + variant, "k", KernelSpec.Dim3.of(1), KernelSpec.Dim3.of(32), 0, List.of(), List.of()));
        }
    }

    /** Time = a per-variant table; "v1" fails to launch. Counts what it was asked to time. */
    static final class FakeTimer implements Autotune.Timer {
        final Map<String, Double> micros;
        final List<String> asked = new ArrayList<>();
        FakeTimer(Map<String, Double> micros) { this.micros = micros; }
        @Override public String gpu() { return "FakeGPU,sm_90,driver13000"; }
        @Override public double micros(List<KernelSpec> specs, Graph g) {
            String v = specs.get(0).source().substring(3);
            asked.add(v);
            if (v.equals("v1")) throw new IllegalStateException("too much shared memory");
            return micros.get(v);
        }
        @Override public int compileThreads() { return 16; } // the H200 machine's pool, whatever this machine has
        @Override public void close() {}
    }

    static Graph threeRelus() {
        Value x = new Value("x", TensorType.of(DType.F16, 4, 8)), y = new Value("y", x.type()), z = new Value("z", x.type());
        Value w = new Value("w", TensorType.of(DType.F16, 2, 8));
        Value u = new Value("u", w.type());
        return new Graph("g", List.of(x, w), List.of(
                Node.of("Relu", List.of(x), List.of(y), Map.of(), "r1"),
                Node.of("Relu", List.of(y), List.of(z), Map.of(), "r2"),
                Node.of("Relu", List.of(w), List.of(u), Map.of(), "r3")), List.of(z, u));
    }

    static final Codegen CODEGEN = new Codegen(List.of(new FakeTemplate()), n -> false);
    static final Map<String, Double> TIMES = Map.of("v0", 9.0, "v1", 1.0, "v2", 3.0, "v3", 5.0, "v4", 0.5, "v5", 7.0);

    @Test void fastTimesTheFirstFourOncePerProblemAndPicksTheFastestThatRuns(@TempDir Path dir) {
        FakeTimer t = new FakeTimer(TIMES);
        Autotune.Result r = Autotune.run(threeRelus(), CODEGEN, CodegenOptions.defaults(), CompileOptions.Tune.FAST, TuningCache.in(dir), t);
        assertEquals(2, r.problems(), "two shapes: [4,8] twice and [2,8]");
        assertEquals(List.of("v0", "v1", "v2", "v3", "v0", "v1", "v2", "v3"), t.asked, "the first four candidates, once per problem");
        assertEquals("v2", r.choices().get("relu f16[4,8]"), "v1 failed; v2 is the fastest of the rest");
        assertEquals(6, r.candidatesTimed());
        assertTrue(r.lines().get(0).contains("failed [v1 (IllegalStateException)]"), r.lines().toString());
        List<KernelSpec> specs = CODEGEN.generate(threeRelus(), new CodegenContext(CodegenOptions.defaults(), r.choices()));
        assertEquals("// v2", specs.get(0).source(), "codegen uses the choice");
    }

    @Test void fullTimesEveryCandidateAndTheCacheAnswersTheNextCompile(@TempDir Path dir) {
        FakeTimer first = new FakeTimer(TIMES);
        Autotune.Result r = Autotune.run(threeRelus(), CODEGEN, CodegenOptions.defaults(), CompileOptions.Tune.FULL, TuningCache.in(dir), first);
        assertEquals("v4", r.choices().get("relu f16[2,8]"));
        assertEquals(12, first.asked.size());
        FakeTimer second = new FakeTimer(TIMES);
        Autotune.Result again = Autotune.run(threeRelus(), CODEGEN, CodegenOptions.defaults(), CompileOptions.Tune.FAST, TuningCache.in(dir), second);
        assertEquals(List.of(), second.asked, "a later process times nothing");
        assertEquals(2, again.fromCache());
        assertEquals(r.choices(), again.choices());
    }

    @Test void noneLeavesEveryTemplateToItsHeuristic() {
        FakeTimer t = new FakeTimer(TIMES);
        Autotune.Result r = Autotune.run(threeRelus(), CODEGEN, CodegenOptions.defaults(), CompileOptions.Tune.NONE, TuningCache.inMemory(), t);
        assertEquals(Map.of(), r.choices());
        assertEquals(List.of(), t.asked);
        assertEquals("// heuristic", CODEGEN.generate(threeRelus(), CodegenOptions.defaults()).get(0).source());
    }

    @Test void cacheMergesWritersSkipsTornLinesAndKeysByGpu(@TempDir Path dir) throws Exception {
        TuningCache a = TuningCache.in(dir), b = TuningCache.in(dir);
        a.putAll(Map.of("k1|gpuA", new TuningCache.Choice("x", 1.5)));
        b.putAll(Map.of("k2|gpuA", new TuningCache.Choice("y", 2.5)));
        Files.writeString(dir.resolve("tuning.tsv"), Files.readString(dir.resolve("tuning.tsv")) + "k3|gpuA\ttorn\n");
        TuningCache c = TuningCache.in(dir);
        assertEquals(new TuningCache.Choice("x", 1.5), c.get("k1|gpuA"));
        assertEquals(new TuningCache.Choice("y", 2.5), c.get("k2|gpuA"), "the second writer kept the first's entry");
        assertNull(c.get("k3|gpuA"), "a torn line is tuned again");
        assertNull(c.get("k1|gpuB"));
    }

    @Test void aCachedVariantTheTemplateNoLongerOffersIsTimedAgain(@TempDir Path dir) {
        TuningCache cache = TuningCache.in(dir);
        cache.putAll(Map.of("relu f16[4,8]|FakeGPU,sm_90,driver13000", new TuningCache.Choice("gone", 0.1)));
        FakeTimer t = new FakeTimer(TIMES);
        Autotune.Result r = Autotune.run(threeRelus(), CODEGEN, CodegenOptions.defaults(), CompileOptions.Tune.FAST, cache, t);
        assertEquals("v2", r.choices().get("relu f16[4,8]"));
        assertEquals(0, r.fromCache());
    }

    // fast's pruning rule, on estimates alone (what the template's cost model says each candidate takes)

    @Test void fastKeepsTheHeuristicsChoiceAndOnlyCandidatesWithinTheMarginOfTheBestEstimate() {
        double m = Autotune.FAST_MARGIN;
        // the first (the heuristic's choice) stays even when the model ranks it worse; 1 + m/2 is in, 1 + 2m is out
        assertEquals(List.of(0, 1, 3), Autotune.fast(new double[] {20, 10, 10 * (1 + 2 * m), 10 * (1 + m / 2)}));
        assertEquals(List.of(0), Autotune.fast(new double[] {10, 10 * (1 + 2 * m), 50}), "nothing else is close: only the heuristic's choice");
    }

    @Test void fastCapsEachProblemAndKeepsCandidatesWithoutAnEstimateByRank() {
        double[] ties = new double[8];
        java.util.Arrays.fill(ties, 5.0);
        assertEquals(List.of(0, 1, 2, 3), Autotune.fast(ties), "a tie keeps the first " + Autotune.FAST_CANDIDATES);
        assertEquals(List.of(0, 1, 3), Autotune.fast(new double[] {5, Double.NaN, 50, Double.NaN, 5}).subList(0, 3),
                "no estimate: kept by rank; a known bad estimate: dropped");
    }

    @Test void budgetGivesExtraCandidatesToTheHeaviestProblemsFirstInRounds() {
        List<List<Integer>> picks = List.of(List.of(0, 1, 2, 3), List.of(0, 1, 2), List.of(0, 1), List.of(0));
        double[] weights = {1, 30, 20, 99};
        // round 1: problem 1 (30), then 2 (20), then 0 (1); problem 3 has nothing more; round 2: problem 1, then 0
        assertEquals(List.of(List.of(0, 1), List.of(0, 1, 2), List.of(0, 1), List.of(0)), Autotune.budget(picks, weights, 4));
        assertEquals(List.of(List.of(0), List.of(0), List.of(0), List.of(0)), Autotune.budget(picks, weights, 0), "every problem keeps its first");
        assertEquals(picks, Autotune.budget(picks, weights, 100), "a big enough budget keeps everything");
    }

    @Test void weightIsTheBestEstimateTimesTheNodesSharingTheProblem() {
        assertEquals(3 * 4.0, Autotune.weight(new double[] {5, 4, Double.NaN}, 3));
        assertEquals(2.0, Autotune.weight(new double[] {Double.NaN}, 2), "no estimate: one per node");
    }

    @Test void theCompileOrderPutsArchSpecificKernelsFirstThenLongerSourcesOnceEach() {
        KernelSpec small = spec("a", "short"), big = spec("b", "a much longer source"), wgmma = spec("c", dev.kiln.runtime.CompileRequest.ARCH_SPECIFIC_MARKER + "\nx");
        assertEquals(List.of(wgmma, big, small), Autotune.compileOrder(List.of(small, big, wgmma, spec("d", "short"))));
    }

    static KernelSpec spec(String name, String source) {
        return new KernelSpec(name, source, name, KernelSpec.Dim3.of(1), KernelSpec.Dim3.of(32), 0, List.of(), List.of());
    }

    @Test void fastTimesOnlyWhatTheBudgetAllowsAndADuplicateSourceOnce(@TempDir Path dir) {
        // 20 distinct problems of 6 tied candidates each, no estimates (weight 1 each, a light model): 20 firsts plus
        // the free slots of the last NVRTC wave
        List<Value> ins = new ArrayList<>();
        List<Node> nodes = new ArrayList<>();
        List<Value> outs = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            Value x = new Value("x" + i, TensorType.of(DType.F16, i + 1, 8)), y = new Value("y" + i, x.type());
            ins.add(x);
            outs.add(y);
            nodes.add(Node.of("Relu", List.of(x), List.of(y), Map.of(), "r" + i));
        }
        FakeTimer t = new FakeTimer(TIMES);
        Autotune.Result r = Autotune.run(new Graph("g", ins, nodes, outs), CODEGEN, CodegenOptions.defaults(), CompileOptions.Tune.FAST, TuningCache.in(dir), t);
        assertEquals(20 + 12, t.asked.size(), "20 kernels on the fake timer's 16 threads: 12 free slots");
        assertEquals(20, r.problems());
    }

    @Test void fastFillsTheLastCompileWaveAndAddsOneWaveOnlyForAHeavyModel() {
        assertEquals(1, Autotune.fastExtra(31, 16, 300), "ResNet-50 b1: 31 kernels on 16 threads leave one slot");
        assertEquals(6, Autotune.fastExtra(10, 16, 400), "BERT-base: 10 kernels, 6 free slots");
        assertEquals(0, Autotune.fastExtra(32, 16, 999), "a full last wave: nothing extra");
        assertEquals(1 + Autotune.FAST_EXTRA, Autotune.fastExtra(31, 16, Autotune.HEAVY_US), "a heavy model gets a wave more");
        assertEquals(0, Autotune.fastExtra(7, 1, 10), "one thread: every candidate would cost a wave");
    }
}
