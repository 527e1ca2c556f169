package dev.kiln.codegen.kernels.ew;

import java.util.ArrayList;
import java.util.List;

/**
 * Index arithmetic for generated kernels, all with shapes baked in as constants. A value of shape {@code S}
 * read while iterating over a row-major index space {@code dims} is described by one stride per iteration
 * dim (0 where it broadcasts, negative for reversed slices); {@link #offset} turns that into a C expression.
 */
final class Index {
    private Index() {}

    /** Largest element count for which 32-bit indices are safe, leaving headroom for grid-stride increments. */
    static final long INT_SAFE = Integer.MAX_VALUE - (1L << 26);

    /** The C index type for an index space of {@code n} elements. */
    static String type(long n) { return n <= INT_SAFE ? "int" : "long long"; }

    static long[] strides(long[] shape) {
        long[] s = new long[shape.length];
        long acc = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            s[d] = acc;
            acc *= shape[d];
        }
        return s;
    }

    /** Strides of a row-major value of shape {@code in} broadcast (numpy, right-aligned) to {@code out}. */
    static long[] broadcastStrides(long[] in, long[] out) {
        long[] st = strides(in), r = new long[out.length];
        int shift = out.length - in.length;
        for (int d = 0; d < out.length; d++) {
            int k = d - shift;
            r[d] = k < 0 || in[k] == 1 ? 0 : st[k];
        }
        return r;
    }

    static long numel(long[] dims) {
        long n = 1;
        for (long d : dims) n *= d;
        return n;
    }

    /**
     * C expression for {@code sum_d coord_d(idx) * strides[d]}, where {@code coord_d} are the row-major
     * coordinates of linear index {@code idx} over {@code dims}. Dims of size 1 are dropped and runs of dims
     * that are contiguous in the strided view merged, so a full-shape value reads at {@code idx} itself. The
     * outermost coordinate needs no modulo because {@code idx < prod(dims)}.
     */
    static String offset(String idx, long[] dims, long[] strides) {
        List<long[]> groups = new ArrayList<>();   // {size, stride, divisor}, innermost first
        long div = 1;
        for (int d = dims.length - 1; d >= 0; d--) {
            if (dims[d] == 1) continue;
            long[] last = groups.isEmpty() ? null : groups.get(groups.size() - 1);
            if (last != null && strides[d] == last[1] * last[0] && last[2] * last[0] == div) last[0] *= dims[d];
            else groups.add(new long[] {dims[d], strides[d], div});
            div *= dims[d];
        }
        List<String> terms = new ArrayList<>();
        for (int g = 0; g < groups.size(); g++) {
            long size = groups.get(g)[0], stride = groups.get(g)[1], gdiv = groups.get(g)[2];
            if (stride == 0) continue;
            String c = gdiv == 1 ? idx : "(" + idx + " / " + lit(gdiv) + ")";
            if (g < groups.size() - 1) c = "(" + c + " % " + lit(size) + ")";
            terms.add(stride == 1 ? c : c + " * " + lit(stride));
        }
        return terms.isEmpty() ? "0" : terms.size() == 1 ? terms.get(0) : "(" + String.join(" + ", terms) + ")";
    }

    /** An integer constant; 64-bit when it does not fit 32 bits. */
    static String lit(long v) {
        if (v == Long.MIN_VALUE) return "(-9223372036854775807LL - 1)";
        return v > Integer.MAX_VALUE || v < Integer.MIN_VALUE ? v + "LL" : Long.toString(v);
    }

    /** Launch blocks for a grid-stride loop over {@code n} items with {@code block} threads per block. */
    static long gridFor(long n, int block) {
        return Math.max(1, Math.min((n + block - 1) / block, 4096));
    }
}
