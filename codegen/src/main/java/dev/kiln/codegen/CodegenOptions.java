package dev.kiln.codegen;

/**
 * Codegen knobs. {@code allowTf32}: fp32 matmul/conv may use TF32 tensor cores (off by default: fp32 results
 * are exact-ish like the reference); {@code arch}: the target, e.g. {@code sm_90}, for templates that
 * specialize by architecture; {@code smCount}: the target's multiprocessors, which contraction templates
 * fill with their grids (132 on an H100/H200 SXM).
 */
public record CodegenOptions(boolean allowTf32, String arch, int smCount) {
    public static final int DEFAULT_SM_COUNT = 132;

    public CodegenOptions {
        if (smCount < 1) throw new IllegalArgumentException("smCount " + smCount);
    }

    public CodegenOptions(boolean allowTf32, String arch) { this(allowTf32, arch, DEFAULT_SM_COUNT); }

    public static CodegenOptions defaults() { return new CodegenOptions(false, "sm_90", DEFAULT_SM_COUNT); }
}
