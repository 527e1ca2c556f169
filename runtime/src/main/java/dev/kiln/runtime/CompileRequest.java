package dev.kiln.runtime;

import java.util.List;

/**
 * What to compile: CUDA C source (kernels {@code extern "C"}), a file name for diagnostics, NVRTC options
 * (without {@code -arch}, which comes from {@code arch}) and the real target architecture, e.g. {@code sm_90}.
 */
public record CompileRequest(String source, String name, List<String> options, String arch) {
    public CompileRequest {
        options = List.copyOf(options);
        if (!arch.startsWith("sm_")) throw new IllegalArgumentException("arch must be a real architecture sm_XX, not " + arch);
    }

    public static CompileRequest of(String source, String name, String arch, String... options) {
        return new CompileRequest(source, name, List.of(options), arch);
    }
}
