package dev.kiln.cli;

import dev.kiln.CompileOptions;
import dev.kiln.CompiledModel;
import dev.kiln.Kiln;
import dev.kiln.bundle.BundleReader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code kiln compile MODEL -o OUT.kiln}: compiles ahead of time into one bundle file. */
@Command(name = "compile", description = "Compile a model ahead of time into one bundle (IR, CUDA, PTX/CUBIN, weights, plans).")
final class CompileCommand implements Callable<Integer> {
    @Parameters(paramLabel = "MODEL", description = "the .onnx file") Path model;

    @Option(names = {"-o", "--output"}, paramLabel = "OUT", description = "the bundle to write (default: MODEL with .kiln)")
    Path output;

    @Option(names = "--dtype", defaultValue = "fp32", description = "fp32, fp16 or bf16: the type f32 weights and activations are "
            + "computed in (inputs and outputs stay f32; reductions stay f32)")
    String dtype;

    @Option(names = "--arch", description = "target GPU, e.g. sm_90 (default: this machine's GPU, else sm_90)") String arch;

    @Option(names = "--allow-tf32", description = "let fp32 matmul/conv use TF32 tensor cores") boolean tf32;

    @Option(names = "--tune", defaultValue = "fast", description = "autotune tile configs on this machine's GPU: none, fast or full (default fast; none without a GPU)")
    String tune;

    @Option(names = "--fuse-views", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "move transposes, reshapes and slices next to matmuls and attention into their kernels (default; --no-fuse-views keeps them as kernels)")
    boolean fuseViews;

    @Option(names = "--channels-last", negatable = true, description = "run 2-D convolutions and pools channels-last (NHWC), weights re-laid out at compile time (default; --no-channels-last keeps NCHW)")
    Boolean channelsLast;

    @Option(names = "--f32-residuals", negatable = true, description = "with fp16/bf16, keep a transformer's residual stream in f32 (default; --no-f32-residuals rounds it too)")
    Boolean f32Residuals;

    @Option(names = "--dump-dir", paramLabel = "DIR", description = "also write the IR after every pass and every kernel's .cu here")
    Path dumpDir;

    @Option(names = "--verify", description = "verify the IR after every pass (slower; for debugging the compiler)") boolean verify;

    @Override public Integer call() {
        Path out = output != null ? output : Path.of(model.toString().replaceAll("\\.onnx$", "") + ".kiln");
        CompileOptions o = CompileOptions.defaults().withPrecision(CompileOptions.Precision.parse(dtype))
                .withAllowTf32(tf32).withDumpDir(dumpDir).withProgress(true).withTune(CompileOptions.Tune.parse(tune)).withFuseViews(fuseViews)
                .withPlanCache(false); // the report prints every pass, which a plan cache hit skips
        if (channelsLast != null) o = o.withChannelsLast(channelsLast);
        if (f32Residuals != null) o = o.withF32Residuals(f32Residuals);
        if (verify) o = o.withVerifyEach(true);
        if (arch != null) o = o.withArch(arch);
        System.err.println("compiling " + model + " ...");
        try (CompiledModel m = Kiln.compile(model, o)) {
            System.out.print(m.report());
            System.out.println("  time: " + m.timings().compileText());
            System.err.println("writing " + out + " ...");
            m.save(out);
        }
        var b = BundleReader.read(out);
        System.out.printf("wrote %s: %s for %s, binaries: %s%n", out, b.model().report().kernelSummary(), b.model().arch(), b.binariesTool());
        return 0;
    }
}
