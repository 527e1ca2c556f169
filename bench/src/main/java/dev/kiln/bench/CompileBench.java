package dev.kiln.bench;

import dev.kiln.runtime.CompileRequest;
import dev.kiln.runtime.Context;
import dev.kiln.runtime.CudaModule;
import dev.kiln.runtime.KernelCache;
import dev.kiln.runtime.NvrtcCompiler;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Compiling a kernel with NVRTC (cold: nothing cached) against loading it from the disk cache (a new
 * cache object, so memory is empty) and from memory; each path ends with the module loaded on the GPU.
 */
final class CompileBench {
    private CompileBench() {}

    static void run(Context ctx, Results out) throws Exception {
        Path dir = Files.createTempDirectory("kiln-bench-cache");
        var compiler = NvrtcCompiler.standard();
        String arch = ctx.device().arch();
        // NVRTC's first compile in a process also loads its builtins; keep that out of the figure
        timedLoad(ctx, new KernelCache(dir, compiler), new CompileRequest(BenchKernels.TINY, "warm.cu", NvrtcCompiler.defaultOptions(), arch), "tiny");

        int reps = 5;
        double[] cold = new double[reps], disk = new double[20], memory = new double[20];
        CompileRequest last = null;
        for (int r = 0; r < reps; r++) {
            last = new CompileRequest(BenchKernels.FUSED + "// variant " + r + " " + System.nanoTime() + "\n", "fused.cu",
                    NvrtcCompiler.defaultOptions(), arch);
            cold[r] = timedLoad(ctx, new KernelCache(dir, compiler), last, "fused");
        }
        var warm = new KernelCache(dir, compiler);
        for (int r = 0; r < disk.length; r++) {
            warm.clearMemory();
            disk[r] = timedLoad(ctx, warm, last, "fused");
        }
        for (int r = 0; r < memory.length; r++) memory[r] = timedLoad(ctx, warm, last, "fused");
        if (warm.compiles() != 0) throw new AssertionError("the cached loads compiled");
        double c = Stats.median(cold), d = Stats.median(disk);
        out.add("NVRTC compile + load, cold (cubin)", c, "ms", null, null, true);
        out.add("cached load from disk + module load", d, "ms", null, null, true);
        out.add("cached load from memory + module load", Stats.median(memory), "ms", null, null, true);
        out.add("cold / disk-cached", c / d, "x", ">= 20", null, false);
    }

    private static double timedLoad(Context ctx, KernelCache cache, CompileRequest r, String kernel) {
        long t0 = System.nanoTime();
        try (CudaModule m = CudaModule.load(ctx, cache.get(r))) {
            m.kernel(kernel);
            return (System.nanoTime() - t0) / 1e6;
        }
    }
}
