package dev.kiln.cli;

import dev.kiln.CompileOptions;
import dev.kiln.Kiln;
import dev.kiln.passes.Passes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * {@code kiln dump MODEL --after PASS|all --dump-dir D}: the IR after each pass (or one) in the parseable text
 * form, plus every kernel's {@code .cu}; a compiler crash leaves a reproducer there too.
 */
@Command(name = "dump", description = "Write the IR after a pass (or all) as parseable text, plus every kernel's .cu.")
final class DumpCommand implements Callable<Integer> {
    @Parameters(paramLabel = "MODEL", description = "the .onnx file") Path model;

    @Option(names = "--after", defaultValue = "all", paramLabel = "PASS", description = "a pass name or 'all'") String after;

    @Option(names = "--dump-dir", defaultValue = "kiln-dump", paramLabel = "DIR", description = "output folder (default: kiln-dump)")
    Path dir;

    @Option(names = "--arch", description = "target GPU for the kernels (default sm_90)") String arch;

    @Option(names = "--dtype", defaultValue = "fp32", description = "fp32, fp16 or bf16, as for kiln compile") String dtype;

    @Option(names = "--verify", description = "verify the IR after every pass") boolean verify;

    @Option(names = "--fuse-views", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "move transposes, reshapes and slices next to matmuls and attention into their kernels (default; --no-fuse-views keeps them as kernels)")
    boolean fuseViews;

    @Option(names = "--channels-last", negatable = true, description = "run 2-D convolutions and pools channels-last (NHWC), weights re-laid out at compile time (default; --no-channels-last keeps NCHW)")
    Boolean channelsLast;

    @Option(names = "--f32-residuals", negatable = true, description = "with fp16/bf16, keep a transformer's residual stream in f32 (default; --no-f32-residuals rounds it too)")
    Boolean f32Residuals;

    @Override public Integer call() throws Exception {
        if (!after.equals("all")) Passes.byName(after); // unknown names fail here, listing the known ones
        CompileOptions o = CompileOptions.defaults().withDumpDir(dir).withDumpAfter(after).withProgress(true)
                .withArch(arch != null ? arch : "sm_90").withPrecision(CompileOptions.Precision.parse(dtype)).withFuseViews(fuseViews);
        if (channelsLast != null) o = o.withChannelsLast(channelsLast);
        if (f32Residuals != null) o = o.withF32Residuals(f32Residuals);
        if (verify) o = o.withVerifyEach(true);
        try (var m = Kiln.compile(model, o)) {
            System.out.print(m.report());
        }
        try (Stream<Path> s = Files.list(dir)) {
            s.sorted().forEach(p -> System.out.println("wrote " + p));
        }
        return 0;
    }
}
