package dev.kiln.bench;

import dev.kiln.runtime.Context;
import dev.kiln.runtime.Cuda;
import dev.kiln.runtime.Doctor;
import dev.kiln.runtime.KernelCache;
import dev.kiln.runtime.NvrtcCompiler;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;

/**
 * Runtime benchmarks (docs/runtime.md): launch overhead, copy bandwidth, compile vs cached load.
 * Usage: {@code RuntimeBench [--torch FILE]}, FILE being the output of bench/torch_runtime.py from the
 * same machine, so that figures print beside PyTorch's.
 */
public final class RuntimeBench {
    private RuntimeBench() {}

    public static void main(String[] args) throws Exception {
        Path torchFile = null;
        for (int i = 0; i < args.length; i++) if (args[i].equals("--torch")) torchFile = Path.of(args[++i]);
        if (!Cuda.available()) {
            System.out.println(Doctor.report());
            System.exit(2);
        }
        try (Context ctx = Context.open(0)) {
            System.out.println("Kiln runtime bench, " + LocalDate.now() + ", " + ctx.device().label() + ", "
                    + ctx.device().multiprocessors() + " SMs, " + NvrtcCompiler.standard().version());
            var cache = new KernelCache(Files.createTempDirectory("kiln-bench"), NvrtcCompiler.standard());
            var results = new Results();
            try (var tiny = cache.load(ctx, BenchKernels.TINY, "tiny.cu");
                 var copy = cache.load(ctx, BenchKernels.COPY, "copy.cu")) {
                LaunchBench.run(ctx, tiny, results);
                CopyBench.run(ctx, copy, results);
            }
            CompileBench.run(ctx, results);
            results.print(TorchFigures.read(torchFile));
        }
    }
}
