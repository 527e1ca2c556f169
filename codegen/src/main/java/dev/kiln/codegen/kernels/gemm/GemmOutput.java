package dev.kiln.codegen.kernels.gemm;

import dev.kiln.codegen.CudaSource;

import java.util.List;

/**
 * What the kernel around the engine supplies: its C signature (the engine appends its workspace parameters)
 * and the epilogue that turns one finished accumulator into stored output (bias, activation, residual, cast,
 * through a store view). For MatMul this is the Fused body's epilogue; for convolution, the same.
 */
public interface GemmOutput {
    /**
     * {@code extern "C" __global__ void __launch_bounds__(bounds) entry(...params, ...extra)}; {@code bounds} is
     * the C text inside the parentheses (threads, and the minimum of resident blocks).
     */
    String signature(String entry, String bounds, List<String> extraParams);

    /**
     * Emits the epilogue for the accumulator {@code acc} (a C expression of the math's accumulator type) of
     * output element ({@code bz}, {@code row}, {@code col}) (C {@code long long} names, all in range).
     */
    void store(CudaSource src, String acc, String bz, String row, String col);
}
