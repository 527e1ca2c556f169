package dev.kiln.codegen.kernels.gemm;

import dev.kiln.ir.DType;

/**
 * How the engine reads one GEMM operand: an iterator that maps a (batch, mn, k) coordinate to an element of a
 * kernel parameter, where mn is the row m for A and the column n for B. The engine only ever asks for the
 * offset as a sum of a batch part, an mn part and a k part, plus an optional extra predicate, so a plain or
 * strided matrix ({@link StridedOperand}) and an implicit-GEMM convolution input (mn = output pixel, k =
 * filter tap and channel, the predicate = inside the padding) plug into the same main loop.
 */
public interface GemmOperand {
    /** Which operand axis is contiguous in memory; the shared-memory tile is laid out the same way. */
    enum Major { K, MN }

    /** The C name of the kernel parameter (a {@code const T*}). */
    String pointer();

    DType dtype();

    /** The axis along which consecutive elements are adjacent (or nearest) in memory. */
    Major major();

    /**
     * Whether every run of {@code elems} consecutive elements along {@link #major()} that starts at a multiple
     * of {@code elems} is contiguous and {@code elems}-element aligned in memory, for every batch and every
     * coordinate on the other axis, so it can be fetched with one vector load or one 16-byte cp.async.
     */
    boolean vectorizable(int elems);

    /** C {@code long long} expression: element offset of batch entry {@code bz} (any view offset included). */
    String batchOffset(String bz);

    /** C {@code long long} expression: offset contributed by the mn coordinate (a {@code long long} C name). */
    String mnOffset(String mn);

    /** C {@code long long} expression: offset contributed by the k coordinate. */
    String kOffset(String k);

    /** A C condition that element (mn, k) is real data (else it reads as zero), or null when every in-range element is. */
    default String valid(String mn, String k) { return null; }

    /**
     * Distinct elements the {@code mnSize x kSize} operand reads from memory (per batch entry): all of them for
     * a plain matrix; a conv's im2col view reads each input element up to kh x kw times from one input tensor,
     * so its memory traffic is the input's size, not the view's (the cost model's HBM term).
     */
    default long footprint(long mnSize, long kSize) { return mnSize * kSize; }
}
