package dev.kiln;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;

/**
 * How to compile a model. Immutable; start from {@link #defaults()} and change with the {@code with*} methods.
 *
 * @param precision  element type for f32 weights and activations: FP32 keeps the model's types; FP16/BF16 convert
 *                   f32 constants and values to that type ({@code convert-precision}, before fusion), keeping
 *                   reductions (softmax sums, normalization statistics), Pow, shape arithmetic and (with
 *                   {@code f32Residuals}) a transformer's residual stream in f32; the
 *                   compiled model's inputs and outputs stay f32, so it is fed and read exactly like the FP32 one
 * @param arch       target GPU architecture ({@code sm_90}); null means the GPU of this machine, else sm_90
 * @param dumpDir    folder for the IR after every pass, every kernel's {@code .cu} and crash reproducers; or null
 * @param verifyEach run the IR verifier after every pass (off by default: it re-infers every type once per pass;
 *                   the input and the final IR are verified regardless; system property kiln.verifyEach, which
 *                   the build sets for tests, or {@code --verify})
 * @param allowTf32  fp32 matmul/conv may use TF32 tensor cores (off: results stay close to the reference)
 * @param dumpAfter  with a dump folder: the pass to dump the IR after, or "all" (system property kiln.dumpAfter)
 * @param progress   show how far long steps are on one updating line of standard error, when that is a terminal
 *                   (system property kiln.progress; the CLI turns it on)
 * @param tune       autotuning of tunable kernels (matmul tile configs...) on this machine's GPU: NONE uses each
 *                   template's heuristic (so does any compile without a GPU), FAST times a few candidates per
 *                   problem, FULL all; choices persist in the tuning cache (system property kiln.tune)
 * @param fuseViews  move Transposes, Reshapes and Slices next to matmuls and attention into their kernels as strided
 *                   reads and writes, and merge matmuls that share an input (Q/K/V) into one ({@code fuse-operand-views},
 *                   {@code merge-parallel-matmuls}); on by default (system property kiln.fuseViews=false turns it off)
 * @param channelsLast run 2-D convolutions and pools channels-last (NHWC) from the first to the last of a chain, with
 *                   the weights re-laid out at compile time ({@code channels-last}); on by default (system property
 *                   kiln.channelsLast=false turns it off)
 * @param f32Residuals with FP16/BF16, keep the residual stream of a transformer (the Adds between its
 *                   normalizations) in f32, so only the branch outputs are rounded to the low type, not the
 *                   accumulated hidden state ({@code convert-precision}); on by default (system property
 *                   kiln.f32Residuals=false turns it off)
 * @param planCache  {@link Kiln#compile(Path, CompileOptions)} looks the compiled plan up in the plan cache (keyed by
 *                   the model file's bytes, its external data, these options, the Kiln build and the GPU) and stores
 *                   it there after a miss, so a second compile of the same file skips import, passes and codegen; on by
 *                   default (system property kiln.planCache=false, or {@code --no-plan-cache}, turns it off); never used
 *                   with a dump folder or verification after every pass
 */
public record CompileOptions(Precision precision, String arch, Path dumpDir, boolean verifyEach, boolean allowTf32,
                             String dumpAfter, boolean progress, Tune tune, boolean fuseViews, boolean channelsLast,
                             boolean f32Residuals, boolean planCache) {

    public enum Tune {
        NONE, FAST, FULL;

        public String text() { return name().toLowerCase(Locale.ROOT); }

        public static Tune parse(String s) {
            try {
                return valueOf(s.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("tuning must be none, fast or full, not '" + s + "'");
            }
        }
    }

    public enum Precision {
        FP32, FP16, BF16;

        public String text() { return name().toLowerCase(Locale.ROOT); }

        public static Precision parse(String s) { return valueOf(s.toUpperCase(Locale.ROOT)); }
    }

    public CompileOptions {
        Objects.requireNonNull(precision, "precision");
        Objects.requireNonNull(tune, "tune");
        if (arch != null && !arch.matches("sm_\\d+[a-z]?"))
            throw new IllegalArgumentException("arch must look like sm_90, not " + arch);
    }

    /** fp32, this machine's GPU, no dumps, no verification between passes, no TF32, fast tuning, view fusion. Debug knobs come from system properties. */
    public static CompileOptions defaults() {
        String dump = System.getProperty("kiln.dump");
        return new CompileOptions(Precision.FP32, System.getProperty("kiln.arch"), dump == null ? null : Path.of(dump),
                Boolean.getBoolean("kiln.verifyEach"), Boolean.getBoolean("kiln.allowTf32"),
                System.getProperty("kiln.dumpAfter", "all"), Boolean.getBoolean("kiln.progress"),
                Tune.parse(System.getProperty("kiln.tune", "fast")), !"false".equals(System.getProperty("kiln.fuseViews")),
                !"false".equals(System.getProperty("kiln.channelsLast")), !"false".equals(System.getProperty("kiln.f32Residuals")),
                !"false".equals(System.getProperty("kiln.planCache")));
    }

    public CompileOptions withPrecision(Precision p) { return new CompileOptions(p, arch, dumpDir, verifyEach, allowTf32, dumpAfter, progress, tune, fuseViews, channelsLast, f32Residuals, planCache); }
    public CompileOptions withArch(String a) { return new CompileOptions(precision, a, dumpDir, verifyEach, allowTf32, dumpAfter, progress, tune, fuseViews, channelsLast, f32Residuals, planCache); }
    public CompileOptions withDumpDir(Path d) { return new CompileOptions(precision, arch, d, verifyEach, allowTf32, dumpAfter, progress, tune, fuseViews, channelsLast, f32Residuals, planCache); }
    public CompileOptions withVerifyEach(boolean v) { return new CompileOptions(precision, arch, dumpDir, v, allowTf32, dumpAfter, progress, tune, fuseViews, channelsLast, f32Residuals, planCache); }
    public CompileOptions withDumpAfter(String pass) { return new CompileOptions(precision, arch, dumpDir, verifyEach, allowTf32, pass, progress, tune, fuseViews, channelsLast, f32Residuals, planCache); }
    public CompileOptions withProgress(boolean p) { return new CompileOptions(precision, arch, dumpDir, verifyEach, allowTf32, dumpAfter, p, tune, fuseViews, channelsLast, f32Residuals, planCache); }
    public CompileOptions withTune(Tune t) { return new CompileOptions(precision, arch, dumpDir, verifyEach, allowTf32, dumpAfter, progress, t, fuseViews, channelsLast, f32Residuals, planCache); }
    public CompileOptions withAllowTf32(boolean t) { return new CompileOptions(precision, arch, dumpDir, verifyEach, t, dumpAfter, progress, tune, fuseViews, channelsLast, f32Residuals, planCache); }
    public CompileOptions withFuseViews(boolean f) { return new CompileOptions(precision, arch, dumpDir, verifyEach, allowTf32, dumpAfter, progress, tune, f, channelsLast, f32Residuals, planCache); }
    public CompileOptions withF32Residuals(boolean r) { return new CompileOptions(precision, arch, dumpDir, verifyEach, allowTf32, dumpAfter, progress, tune, fuseViews, channelsLast, r, planCache); }
    public CompileOptions withChannelsLast(boolean c) { return new CompileOptions(precision, arch, dumpDir, verifyEach, allowTf32, dumpAfter, progress, tune, fuseViews, c, f32Residuals, planCache); }
    public CompileOptions withPlanCache(boolean c) { return new CompileOptions(precision, arch, dumpDir, verifyEach, allowTf32, dumpAfter, progress, tune, fuseViews, channelsLast, f32Residuals, c); }
}
