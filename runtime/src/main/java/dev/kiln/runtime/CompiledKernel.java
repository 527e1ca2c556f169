package dev.kiln.runtime;

/**
 * NVRTC's output: a CUBIN for the target GPU (loads without JIT) and PTX for GPUs newer than it
 * (either may be empty), plus the compile log, which holds warnings even on success.
 */
public record CompiledKernel(String arch, byte[] cubin, byte[] ptx, String log) {}
