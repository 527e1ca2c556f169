package dev.kiln.codegen;

/**
 * Codegen knobs. {@code allowTf32}: fp32 matmul/conv may use TF32 tensor cores (off by default: fp32 results
 * are exact-ish like the reference); {@code arch}: the target, e.g. {@code sm_90}, for templates that
 * specialize by architecture.
 */
public record CodegenOptions(boolean allowTf32, String arch) {
    public static CodegenOptions defaults() { return new CodegenOptions(false, "sm_90"); }
}
