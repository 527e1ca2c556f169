package dev.kiln.profile;

import dev.kiln.CompileOptions;
import dev.kiln.CompiledModel;
import dev.kiln.Kiln;
import dev.kiln.exec.RandomInputs;
import dev.kiln.ir.Tensor;
import dev.kiln.runtime.Context;
import dev.kiln.runtime.Cuda;
import dev.kiln.runtime.DevicePeaks;
import dev.kiln.runtime.KernelCache;
import dev.kiln.runtime.NvrtcCompiler;
import dev.kiln.runtime.plan.PlanProfiler;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Real per-launch timing on the GPU: the four shared models profile, and profiling leaves the model intact. */
@Tag("gpu")
class ProfileGpuTest {
    @BeforeAll static void gpu() { assumeTrue(Cuda.available(), () -> "no GPU: " + Cuda.unavailableReason()); }

    static final ProfileOptions QUICK = ProfileOptions.defaults().withRuns(5).withReplays(10);

    @Test void theFourSharedModelsProfile() {
        for (String name : List.of("bert_tiny", "gpt2_tiny", "vit_tiny", "mobilenet_v2")) {
            for (var precision : List.of(CompileOptions.Precision.FP32, CompileOptions.Precision.FP16)) {
                try (CompiledModel m = Kiln.compile(SharedModels.modelOrSkip(name), CompileOptions.defaults().withPrecision(precision))) {
                    List<Tensor> in = RandomInputs.of(m.graph(), Map.of(), 1);
                    List<Tensor> before = m.run(in);
                    Profile p = m.profile(QUICK.withInputs(in));
                    String what = name + " " + precision.text();
                    assertEquals(m.plan().launches().size(), p.kernels().size(), what);
                    assertTrue(p.graphMs() > 0 && p.emptyLaunchMs() > 0, what);
                    for (Profile.Kernel k : p.kernels()) {
                        assertTrue(k.ms() > 0 && k.minMs() <= k.ms(), what + " launch " + k.launch());
                        assertTrue(k.costKnown() || k.entry().equals("kiln_constant_output"), what + ": launch " + k.launch() + " has no node");
                        if (k.kind().equals("matmul") && k.flops() > 0) assertTrue(k.tflops() > 0 && k.rooflinePercent() > 0, what);
                        assertTrue(k.rooflinePercent() < 250, what + " launch " + k.launch() + " beats its roofline: " + k.rooflinePercent());
                    }
                    assertSame(before, m.run(in), what + ": profiling changed what the model computes");
                    assertTrue(p.text(10).contains("total: " + p.kernels().size() + " launches"));
                    assertTrue(p.html().contains("</svg>"));
                    System.out.println(p.text(5));
                }
            }
        }
    }

    /** Equal up to the order of floating-point sums (a kernel may add in a run-dependent order). */
    static void assertSame(List<Tensor> want, List<Tensor> got, String what) {
        assertEquals(want.size(), got.size());
        for (int i = 0; i < want.size(); i++) {
            double[] w = want.get(i).toDoubles(), g = got.get(i).toDoubles();
            double scale = 0, diff = 0;
            for (int j = 0; j < w.length; j++) {
                scale = Math.max(scale, Math.abs(w[j]));
                diff = Math.max(diff, Math.abs(w[j] - g[j]));
            }
            assertTrue(diff <= 1e-4 * Math.max(scale, 1e-30), what + ", output " + i + ": max difference " + diff + " of " + scale);
        }
    }

    @Test void peaksAreMeasuredOnceAndCached(@TempDir Path dir) {
        try (Context ctx = Context.open(0)) {
            KernelCache cache = new KernelCache(dir, NvrtcCompiler.standard());
            long t0 = System.nanoTime();
            DevicePeaks p = DevicePeaks.cachedOrMeasure(ctx, cache);
            long measured = System.nanoTime() - t0;
            assertEquals(ctx.device().name(), p.device());
            assertTrue(p.memoryGBs() > 100, "bandwidth " + p.memoryGBs());
            assertTrue(p.f32TFlops() > 1, "f32 " + p.f32TFlops());
            if (ctx.device().ccMajor() >= 8) {
                assertTrue(p.f16TFlops() > 2 * p.f32TFlops(), "tensor cores beat FMA: " + p);
                assertTrue(p.bf16TFlops() > 2 * p.f32TFlops(), "bf16: " + p);
            }
            long t1 = System.nanoTime();
            assertEquals(p, DevicePeaks.cachedOrMeasure(ctx, cache));
            assertTrue(System.nanoTime() - t1 < measured / 5, "the second call reads the cache");
            try (var s = Files.list(dir.resolve("device-peaks"))) { assertEquals(1, s.count()); } catch (java.io.IOException e) { fail(e); }
            System.out.println("device peaks: " + p.toJson());
        }
    }

    @Test void profilingNeedsARunFirst() {
        try (CompiledModel m = Kiln.compile(dev.kiln.TestModels.chain(2), CompileOptions.defaults())) {
            var ex = m.executor();
            assertThrows(IllegalStateException.class, () -> PlanProfiler.profile(ex, PlanProfiler.Options.defaults()));
        }
    }
}
