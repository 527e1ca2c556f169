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

    /**
     * How many consecutive output columns {@link #storeRun} takes (a power of two: 16 bytes of the output, 8
     * for f16/bf16, 4 for f32), or 1 when this output has no run epilogue (output written through a store view
     * that is not contiguous along columns, a column stride that is not 1...). The engine takes the run path only
     * when the GEMM's N is a multiple of it.
     */
    default int runWidth() { return 1; }

    /**
     * Emits the epilogue of the run of {@code width} ({@link #runWidth}) outputs ({@code bz}, {@code row},
     * {@code col + e}), e in [0, width), whose accumulators are the C array {@code acc}; {@code col} is a
     * multiple of {@code width} and the whole run is in range. Its stores (and the loads of other epilogue
     * inputs that are contiguous along the run) are 16-byte vectors.
     */
    default void storeRun(CudaSource src, String acc, String bz, String row, String col, int width) {
        throw new UnsupportedOperationException("no run epilogue (runWidth is 1)");
    }
}
