package dev.kiln.codegen.kernels.gemm;

import dev.kiln.codegen.CudaSource;

/**
 * The output elements one thread holds when its main loop ends, as a C loop nest: inside {@link #forEach}
 * the C names {@code e_r} (register number, 0..{@link #registers()}-1), {@code e_row}, {@code e_col}
 * (global output coordinates, {@code long long}) and {@code e_v} (a reference to the accumulator) are
 * defined. Each main loop has its own; {@link TileEpilogue} runs split-K and the stores over any of them.
 */
interface Fragment {
    int registers();

    void forEach(CudaSource src, Runnable body);
}
