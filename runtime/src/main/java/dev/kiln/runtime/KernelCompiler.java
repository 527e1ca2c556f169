package dev.kiln.runtime;

/** Turns CUDA C into a {@link CompiledKernel}. NVRTC in production; the cache tests plug in a fake. */
public interface KernelCompiler {
    /** Part of every cache key, so that a compiler upgrade never serves stale binaries. */
    String version();

    CompiledKernel compile(CompileRequest request);
}
