package dev.kiln.codegen.kernels.gemm;

import dev.kiln.codegen.KernelSpec;
import dev.kiln.ir.DType;

import java.util.List;

/**
 * One operand's TMA tensor map as the host must encode it with the driver's {@code cuTensorMapEncodeTiled}
 * for a {@link GemmConfig.Path#WGMMA_TMA} kernel: a 2-D view of 2-byte elements at kernel parameter
 * {@code pointer} plus {@code offset} elements, {@code inner} elements along the contiguous axis and
 * {@code outer} rows {@code outerStrideBytes} apart, copied in boxes of {@code boxInner x boxOuter} with the
 * 128-byte swizzle (boxInner is 64: one swizzle row), no interleave, out-of-bounds elements zero, element
 * strides 1. A K-major operand's map is [mn][k] with box 64 k x the tile's mn; an MN-major one's is [k][mn]
 * with box 64 mn x 64 k (the tile's mn / 64 column blocks are separate copies).
 */
public record TmaMap(String pointer, DType dtype, long offset, long inner, long outer, long outerStrideBytes, int boxInner, int boxOuter) {
    /** The map for {@code op} (rows mnSize, depth kSize) staged in tiles of {@code tileMn} rows, or null when TMA cannot read it. */
    static TmaMap of(GemmOperand op, long mnSize, long kSize, int tileMn) {
        if (!(op instanceof StridedOperand s) || s.dtype().bits() != 16) return null;
        for (int i = 0; i < s.batchShape().length; i++) if (s.batchShape()[i] > 1) return null;
        boolean kMajor = s.major() == GemmOperand.Major.K;
        long inner = kMajor ? kSize : mnSize, outer = kMajor ? mnSize : kSize;
        long unit = kMajor ? s.kStride() : s.mnStride(), stride = kMajor ? s.mnStride() : s.kStride();
        if (inner > 1 && unit != 1) return null;
        if (outer > 1 && (stride <= 0 || stride * 2 % 16 != 0)) return null; // the driver wants 16-byte row strides
        if (s.offset() * 2 % 16 != 0 || inner >= 1L << 32 || outer >= 1L << 32) return null;
        return new TmaMap(s.pointer(), s.dtype(), s.offset(), inner, outer, Math.max(16, stride * 2), WgmmaKernel.BK, kMajor ? tileMn : WgmmaKernel.BK);
    }

    /** The map as a kernel parameter's, over parameter {@code param} (the one named {@link #pointer}). */
    public KernelSpec.TensorMap spec(int param) {
        return new KernelSpec.TensorMap(param, dtype, offset * 2, List.of(inner, outer), List.of(outerStrideBytes), List.of(boxInner, boxOuter), 128);
    }

    /** Bytes one box brings. */
    int boxBytes() { return boxInner * boxOuter * 2; }

    /** A comment line for the kernel source: the contract with whoever encodes the map. */
    String describe() {
        return dtype.name().toLowerCase() + " " + pointer + (offset != 0 ? " + " + offset : "") + ": " + outer + " rows x " + inner
                + " elements, row stride " + outerStrideBytes + " B, box " + boxInner + " x " + boxOuter + ", 128B swizzle, OOB zero";
    }
}
