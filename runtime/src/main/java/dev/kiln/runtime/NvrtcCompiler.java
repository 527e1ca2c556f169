package dev.kiln.runtime;

import java.util.List;

/**
 * {@link KernelCompiler} over NVRTC: one compile for {@code sm_XX} gives the CUBIN this GPU loads without
 * JIT, and, when {@code withPtx}, a second for {@code compute_XX} gives PTX that newer GPUs can JIT
 * (NVRTC emits only one of the two per compile).
 */
public final class NvrtcCompiler implements KernelCompiler {
    private final Nvrtc nvrtc;
    private final boolean withPtx;
    private final String version;

    public NvrtcCompiler(Nvrtc nvrtc, boolean withPtx) {
        this.nvrtc = nvrtc;
        this.withPtx = withPtx;
        this.version = "nvrtc-" + nvrtc.version() + (withPtx ? "+ptx" : "");
    }

    /** The default: the NVRTC found on this machine, CUBIN plus PTX. */
    public static NvrtcCompiler standard() {
        return new NvrtcCompiler(Nvrtc.get(), true);
    }

    @Override
    public String version() { return version; }

    @Override
    public CompiledKernel compile(CompileRequest r) {
        CompiledKernel bin = nvrtc.compile(r, r.arch(), true);
        if (!withPtx) return bin;
        String virtual = "compute_" + r.arch().substring("sm_".length());
        CompiledKernel ptx = nvrtc.compile(r, virtual, false);
        return new CompiledKernel(r.arch(), bin.cubin(), ptx.ptx(), bin.log());
    }

    /** Options Kiln compiles with by default: fast math off (results must match the CPU reference), C++17. */
    public static List<String> defaultOptions() {
        return List.of("-std=c++17");
    }
}
