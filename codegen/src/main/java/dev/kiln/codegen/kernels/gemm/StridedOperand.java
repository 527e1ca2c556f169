package dev.kiln.codegen.kernels.gemm;

import dev.kiln.ir.DType;

import java.util.ArrayList;
import java.util.List;

/**
 * An operand read through strides: a plain row-major matrix, a transposed one (K^T), a head split or a slice
 * (an element offset). {@code batchStrides[i]} is the stride of output batch axis i (0 where the operand
 * broadcasts), {@code mnStride}/{@code kStride} those of the matrix axes of sizes {@code mnSize}/{@code kSize}.
 */
public record StridedOperand(String pointer, DType dtype, long offset, long[] batchShape, long[] batchStrides,
                             long mnSize, long mnStride, long kSize, long kStride) implements GemmOperand {
    public StridedOperand {
        if (batchShape.length != batchStrides.length) throw new IllegalArgumentException("batch shape and strides differ in rank");
        batchShape = batchShape.clone();
        batchStrides = batchStrides.clone();
    }

    /** A contiguous row-major [mnSize, kSize] (A) or, with {@code transposed}, [kSize, mnSize] (B) matrix. */
    public static StridedOperand dense(String pointer, DType dtype, long mnSize, long kSize, boolean kContiguous) {
        return new StridedOperand(pointer, dtype, 0, new long[0], new long[0], mnSize, kContiguous ? kSize : 1, kSize, kContiguous ? 1 : mnSize);
    }

    @Override public Major major() {
        // the axis of unit stride; else the smaller stride (size-1 axes never count)
        long m = mnSize > 1 ? Math.abs(mnStride) : Long.MAX_VALUE, k = kSize > 1 ? Math.abs(kStride) : Long.MAX_VALUE;
        return k <= m ? Major.K : Major.MN;
    }

    @Override public boolean vectorizable(int elems) {
        if (elems == 1) return true;
        boolean kMajor = major() == Major.K;
        long size = kMajor ? kSize : mnSize, unit = kMajor ? kStride : mnStride, other = kMajor ? mnStride : kStride;
        long otherSize = kMajor ? mnSize : kSize;
        if (size % elems != 0 || offset % elems != 0) return false;
        if (size > 1 && unit != 1) return false;
        if (otherSize > 1 && other % elems != 0) return false;
        for (int i = 0; i < batchShape.length; i++) if (batchShape[i] > 1 && batchStrides[i] % elems != 0) return false;
        return true;
    }

    @Override public String batchOffset(String bz) {
        List<String> terms = new ArrayList<>();
        if (offset != 0) terms.add(offset + "LL");
        long inner = 1;
        for (int a = batchShape.length - 1; a >= 0; a--) {
            if (batchShape[a] > 1 && batchStrides[a] != 0) {
                String q = inner == 1 ? "(" + bz + ")" : "((" + bz + ") / " + inner + "LL)";
                String c = a == 0 ? q : "(" + q + " % " + batchShape[a] + "LL)";
                terms.add(0, c + " * " + batchStrides[a] + "LL");
            }
            inner *= batchShape[a];
        }
        return terms.isEmpty() ? "0LL" : "(" + String.join(" + ", terms) + ")";
    }

    @Override public String mnOffset(String mn) { return scaled(mn, mnSize, mnStride); }

    @Override public String kOffset(String k) { return scaled(k, kSize, kStride); }

    private static String scaled(String x, long size, long stride) {
        if (size <= 1 || stride == 0) return "0LL";
        return stride == 1 ? "(" + x + ")" : "(" + x + ") * " + stride + "LL";
    }
}
