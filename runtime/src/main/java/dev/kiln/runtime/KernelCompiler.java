package dev.kiln.runtime;

/** Turns CUDA C into a {@link CompiledKernel}. NVRTC in production; the cache tests plug in a fake. */
public interface KernelCompiler {
    /** Part of every cache key, so that a compiler upgrade never serves stale binaries. */
    String version();

    /** The CUBIN for {@code request.arch()}, which is all a JIT run loads; the PTX may be left empty. */
    CompiledKernel compile(CompileRequest request);

    /**
     * PTX for the virtual architecture of {@code request.arch()}, which the driver can JIT on newer GPUs; only
     * bundles need it, so it is a second, separate compile. By default: {@link #compile}'s PTX.
     */
    default byte[] ptx(CompileRequest request) { return compile(request).ptx(); }
}
