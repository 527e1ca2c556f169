package dev.kiln.ir;

import java.util.Arrays;
import java.util.List;

/**
 * A tensor of {@code shape} read from a flat buffer at element offset {@code offset + sum(coord[i] * strides[i])}:
 * how kernels address an operand through Transposes, Reshapes and Slices without materialising them (the head
 * split and merge around attention, K^T, Q/K/V cut from one fused projection). Only views expressible by
 * strides exist: {@link #reshape} returns null when the new shape would need a copy (splitting or merging dims
 * that are not laid out contiguously).
 */
public record StridedView(long[] shape, long[] strides, long offset) {
    public StridedView {
        if (shape.length != strides.length) throw new IllegalArgumentException("shape and strides differ in rank");
        if (offset < 0) throw new IllegalArgumentException("negative offset " + offset);
        shape = shape.clone();
        strides = strides.clone();
    }

    public StridedView(long[] shape, long[] strides) { this(shape, strides, 0); }

    /** The row-major layout of {@code shape}. */
    public static StridedView contiguous(long[] shape) {
        long[] st = new long[shape.length];
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) { st[i] = s; s *= shape[i]; }
        return new StridedView(shape, st);
    }

    public int rank() { return shape.length; }

    @Override public long[] shape() { return shape.clone(); }

    @Override public long[] strides() { return strides.clone(); }

    public long stride(int axis) { return strides[axis]; }

    public long size(int axis) { return shape[axis]; }

    /** Whether this is the row-major layout of its shape at offset 0 (size-1 axes may have any stride). */
    public boolean isContiguous() {
        if (offset != 0) return false;
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && strides[i] != s) return false;
            s *= shape[i];
        }
        return true;
    }

    /** ONNX Transpose: output axis j is input axis perm[j]. */
    public StridedView permute(long[] perm) {
        if (perm.length != shape.length) throw new IllegalArgumentException("perm " + Arrays.toString(perm) + " for rank " + shape.length);
        long[] sh = new long[perm.length], st = new long[perm.length];
        for (int j = 0; j < perm.length; j++) {
            sh[j] = shape[(int) perm[j]];
            st[j] = strides[(int) perm[j]];
        }
        return new StridedView(sh, st, offset);
    }

    /** Elements {@code [start, start + length)} of {@code axis} (ONNX Slice with step 1). */
    public StridedView slice(int axis, long start, long length) {
        if (start < 0 || length < 0 || start + length > shape[axis])
            throw new IllegalArgumentException("slice [" + start + ", +" + length + ") of axis " + axis + " of size " + shape[axis]);
        long[] sh = shape.clone();
        sh[axis] = length;
        return new StridedView(sh, strides, offset + start * strides[axis]);
    }

    /**
     * The same elements in row-major order as {@code to} (ONNX Reshape semantics), or null if no strides
     * express it. Size-1 axes are dropped; the rest merge into chunks that are linear in memory (each axis
     * just outside the next); every target axis must then lie inside one chunk.
     */
    public StridedView reshape(long[] to) {
        long n = 1, m = 1;
        for (long d : shape) n *= d;
        for (long d : to) m *= d;
        if (n != m) throw new IllegalArgumentException("reshape of " + Arrays.toString(shape) + " to " + Arrays.toString(to));
        if (n == 0) return new StridedView(to, contiguous(to).strides, offset);
        List<long[]> chunks = new java.util.ArrayList<>(); // {numel, innermost stride}, outermost first
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == 1) continue;
            long[] last = chunks.isEmpty() ? null : chunks.get(chunks.size() - 1);
            if (last != null && last[1] == strides[i] * shape[i]) {
                last[0] *= shape[i];
                last[1] = strides[i];
            } else chunks.add(new long[] {shape[i], strides[i]});
        }
        long[] st = new long[to.length];
        int j = 0;
        for (long[] c : chunks) {
            int first = j;
            long prod = 1;
            while (prod < c[0] && j < to.length) prod *= to[j++];
            if (prod != c[0]) return null;
            long s = c[1];
            for (int k = j - 1; k >= first; k--) {
                st[k] = to[k] == 1 ? 0 : s;
                s *= to[k];
            }
        }
        for (; j < to.length; j++) if (to[j] != 1) return null; // trailing unit axes only
        return new StridedView(to, st, offset);
    }

    @Override public boolean equals(Object o) {
        return o instanceof StridedView v && Arrays.equals(v.shape, shape) && Arrays.equals(v.strides, strides) && v.offset == offset;
    }

    @Override public int hashCode() { return 31 * (31 * Arrays.hashCode(shape) + Arrays.hashCode(strides)) + Long.hashCode(offset); }

    @Override public String toString() {
        return "view" + Arrays.toString(shape) + " strides " + Arrays.toString(strides) + (offset == 0 ? "" : " offset " + offset);
    }
}
