package dev.kiln;

import dev.kiln.runtime.plan.PlanExecutor;

import java.util.Locale;

/**
 * Where the wall time from a model file to its first output went, in milliseconds: {@code import} (ONNX to
 * IR), {@code passes}, {@code codegen} (kernels and the plan), {@code nvrtc} (until the last kernel was compiled
 * or found in the kernel cache), {@code tuning} (0 until autotuning lands), {@code load} (modules into the GPU
 * context) and {@code upload} (device memory and the weights copy). The upload runs while NVRTC compiles, so
 * the parts may add up to more than the wall time. The GPU parts are 0 until the model was loaded.
 */
public record Timings(double importMillis, double passesMillis, double codegenMillis, double nvrtcMillis,
                      double tuningMillis, double loadMillis, double uploadMillis) {

    /** The compile side only. */
    public static Timings compile(double importMillis, double passesMillis, double codegenMillis) {
        return new Timings(importMillis, passesMillis, codegenMillis, 0, 0, 0, 0);
    }

    public Timings withImport(double millis) {
        return new Timings(millis, passesMillis, codegenMillis, nvrtcMillis, tuningMillis, loadMillis, uploadMillis);
    }

    /** These compile times with the GPU side of {@code t}. */
    public Timings withLoad(PlanExecutor.LoadTimes t) {
        return new Timings(importMillis, passesMillis, codegenMillis, t.nvrtcMillis(), tuningMillis, t.moduleMillis(), t.uploadMillis());
    }

    /** {@code import 12 ms, passes 340 ms, codegen 25 ms}. */
    public String compileText() {
        return String.format(Locale.ROOT, "import %.0f ms, passes %.0f ms, codegen %.0f ms", importMillis, passesMillis, codegenMillis);
    }

    /** {@code import 12 ms, passes 340 ms, codegen 25 ms, NVRTC 2100 ms, tuning 0 ms, load 30 ms, upload 250 ms}. */
    @Override public String toString() {
        return String.format(Locale.ROOT, "import %.0f ms, passes %.0f ms, codegen %.0f ms, NVRTC %.0f ms, tuning %.0f ms, load %.0f ms, upload %.0f ms",
                importMillis, passesMillis, codegenMillis, nvrtcMillis, tuningMillis, loadMillis, uploadMillis);
    }
}
