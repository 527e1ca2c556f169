package dev.kiln.runtime;

import java.util.List;

/**
 * {@link KernelCompiler} over NVRTC. NVRTC emits one of CUBIN or PTX per compile: {@link #compile} makes the
 * CUBIN for {@code sm_XX}, which this GPU loads without JIT, and {@link #ptx} the PTX for {@code compute_XX},
 * which newer GPUs can JIT. A JIT run needs only the first; the kernel cache asks for the PTX when a bundle
 * does ({@link KernelCache#getWithPtx}). {@code withPtx} makes {@link #compile} do both at once.
 */
public final class NvrtcCompiler implements KernelCompiler {
    private final Nvrtc nvrtc;
    private final boolean withPtx;
    private final String version;

    public NvrtcCompiler(Nvrtc nvrtc, boolean withPtx) {
        this.nvrtc = nvrtc;
        this.withPtx = withPtx;
        // the same for both settings: an entry with or without PTX holds the same CUBIN
        this.version = "nvrtc-" + nvrtc.version();
    }

    /** The default: the NVRTC found on this machine, CUBIN now and PTX only when asked for. */
    public static NvrtcCompiler standard() {
        return new NvrtcCompiler(Nvrtc.get(), false);
    }

    @Override
    public String version() { return version; }

    @Override
    public CompiledKernel compile(CompileRequest r) {
        CompiledKernel bin = nvrtc.compile(r, r.arch(), true);
        if (!withPtx) return bin;
        return new CompiledKernel(r.arch(), bin.cubin(), ptx(r), bin.log());
    }

    @Override
    public byte[] ptx(CompileRequest r) {
        return nvrtc.compile(r, "compute_" + r.arch().substring("sm_".length()), false).ptx();
    }

    /** Options Kiln compiles with by default: fast math off (results must match the CPU reference), C++17. */
    public static List<String> defaultOptions() {
        return List.of("-std=c++17");
    }
}
