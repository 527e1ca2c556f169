package dev.kiln.runtime;

import java.util.List;

/**
 * What to compile: CUDA C source (kernels {@code extern "C"}), a file name for diagnostics, NVRTC options
 * (without {@code -arch}, which comes from {@code arch}) and the real target architecture, e.g. {@code sm_90}.
 * A source that uses arch-specific instructions (Hopper's wgmma) says so with {@link #ARCH_SPECIFIC_MARKER};
 * for it the device's {@code sm_90} becomes {@code sm_90a} here, the one place every compile passes through.
 */
public record CompileRequest(String source, String name, List<String> options, String arch) {
    /** The line codegen writes (dev.kiln.codegen.kernels.tile.WgmmaOps.ARCH_MARKER; runtime does not see codegen). */
    public static final String ARCH_SPECIFIC_MARKER = "#define KILN_ARCH_SPECIFIC 1";

    public CompileRequest {
        options = List.copyOf(options);
        if (!arch.startsWith("sm_")) throw new IllegalArgumentException("arch must be a real architecture sm_XX, not " + arch);
        arch = archFor(source, arch);
    }

    /** {@code deviceArch} + "a" for a source that asks for the arch-specific target on Hopper; else unchanged. */
    public static String archFor(String source, String deviceArch) {
        return deviceArch.equals("sm_90") && source.contains(ARCH_SPECIFIC_MARKER) ? "sm_90a" : deviceArch;
    }

    public static CompileRequest of(String source, String name, String arch, String... options) {
        return new CompileRequest(source, name, List.of(options), arch);
    }
}
