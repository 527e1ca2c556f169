package dev.kiln;

import dev.kiln.bundle.BundleReader;
import dev.kiln.bundle.BundleWriter;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.runtime.Context;
import dev.kiln.runtime.Cuda;
import dev.kiln.runtime.TensorMap;
import dev.kiln.runtime.plan.ExecutionPlan;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The TMA GEMM (wgmma_tma, docs/gemm.md) through Kiln's own runtime: with {@code -Dkiln.tma=true} the heuristic
 * picks it for a large MatMul, the plan carries the tensor maps over A and B, the executor encodes them at load
 * and the result matches the reference interpreter on a shape ragged in M, N and K (TMA's zero fill and the
 * skipped boxes past N); the same plan saved as a bundle and loaded again runs the same. Needs sm_90 and a
 * driver with cuTensorMapEncodeTiled; skips otherwise. No autotuning (it could pick another config) and no plan cache.
 * The transposed loop (wgmma_tma_t, the default for few rows) the same way, under a fused bias, ReLU and residual.
 */
@Tag("gpu")
class TmaGemmGpuTest {
    @BeforeAll static void hopper() {
        assumeTrue(Cuda.available(), () -> "no GPU: " + Cuda.unavailableReason());
        assumeTrue(TensorMap.available(), "the driver cannot encode tensor maps");
        try (Context ctx = Context.open(0)) { assumeTrue(ctx.device().arch().equals("sm_90"), "TMA GEMM needs sm_90, not " + ctx.device().arch()); }
    }

    @AfterEach void clear() { System.clearProperty("kiln.tma"); }

    @ParameterizedTest(name = "{0} {1}x{2} x {2}x{3}")
    @CsvSource({
            "f16, 1030, 520, 1048",    // wgmma_tma 128x128 s6: the last tile column is 24 wide, its second B box skipped
            "bf16, 2049, 1032, 1160",  // 128x256 s4: 3 of the last column's 4 B boxes
            "f16, 1100, 4104, 1048",   // split-K (k3 at 132 SMs) over TMA stages
    })
    void matchesTheInterpreter(String dt, long m, long k, long n, @TempDir Path dir) {
        System.setProperty("kiln.tma", "true");
        DType t = DType.fromText(dt);
        GraphBuilder g = new GraphBuilder("tma");
        Value x = g.input("x", TensorType.of(t, m, k)), w = g.input("w", TensorType.of(t, k, n));
        check(g.output(g.op("MatMul", x, w)).build(), t, "config wgmma_tma ", dir);
    }

    @ParameterizedTest(name = "{0} {1}x{2} x {2}x{3}")
    @CsvSource({
            "f16, 145, 1024, 3072",  // ViT-L's fused QKV: two row tiles of 80, the second 65 rows into the tensor
            "bf16, 128, 768, 2304",  // GPT-2's: rows of 64
            "f16, 145, 3072, 768",   // long K: split over TMA stages, the last block sums the partials
    })
    void transposedLoopMatchesTheInterpreterUnderAnEpilogue(String dt, long m, long k, long n, @TempDir Path dir) {
        DType t = DType.fromText(dt);
        GraphBuilder g = new GraphBuilder("tma_t");
        Value x = g.input("x", TensorType.of(t, m, k)), w = g.input("w", TensorType.of(t, k, n)), b = g.input("b", TensorType.of(t, n)),
                res = g.input("r", TensorType.of(t, m, n));
        Value y = g.op("Add", g.op("Relu", g.op("Add", g.op("MatMul", x, w), b)), res);
        check(g.output(y).build(), t, "config wgmma_tma_t ", dir);
    }

    private static void check(Graph graph, DType t, String config, Path dir) {
        try (CompiledModel model = Kiln.compile(graph, CompileOptions.defaults().withTune(CompileOptions.Tune.NONE).withPlanCache(false))) {
            String src = model.plan().kernels().stream().map(ExecutionPlan.KernelSource::source).filter(s -> s.contains("// GEMM")).findFirst().orElse("");
            assertTrue(src.contains(config), config.strip() + ": " + src.lines().filter(l -> l.startsWith("// GEMM")).toList());
            assertTrue(model.plan().launches().stream().anyMatch(l -> l.args().getLast() instanceof ExecutionPlan.Arg.TensorMaps), "the launch carries its maps");
            Random r = new Random(graph.inputs().get(0).shape().numel());
            List<Tensor> in = new ArrayList<>();
            for (Value v : model.graph().inputs()) {
                double[] d = new double[(int) v.shape().numel()];
                for (int i = 0; i < d.length; i++) d[i] = (r.nextInt(9) - 4) / 4.0; // exact products: only the final rounding differs
                in.add(Tensor.ofDoubles(v.dtype(), v.shape().sizes(), d));
            }
            Tensor want = model.runReference(in).get(0), got = model.run(in).get(0);
            double tol = t == DType.BF16 ? 1e-2 : 2e-3;
            for (int i = 0; i < want.numel(); i++)
                assertEquals(want.getDouble(i), got.getDouble(i), tol * (1 + Math.abs(want.getDouble(i))), "element " + i);
            Path f = dir.resolve("tma.kiln");
            BundleWriter.write(model, f, BundleWriter.Binaries.NONE);
            try (CompiledModel back = BundleReader.read(f).model()) {
                assertEquals(model.plan(), back.plan());
                Tensor again = back.run(in).get(0);
                for (int i = 0; i < want.numel(); i++) assertEquals(got.getDouble(i), again.getDouble(i), "element " + i + " after the bundle");
            }
        }
    }
}
