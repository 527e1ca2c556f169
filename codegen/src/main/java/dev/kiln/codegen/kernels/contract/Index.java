package dev.kiln.codegen.kernels.contract;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Index arithmetic baked into generated C as constants. Every template's index math goes through here. */
final class Index {
    private Index() {}

    static long[] strides(long[] shape) {
        long[] st = new long[shape.length];
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) { st[i] = s; s *= shape[i]; }
        return st;
    }

    static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    static long ceilDiv(long a, long b) { return (a + b - 1) / b; }

    /** A C {@code long long} literal. */
    static String ll(long v) { return v + "LL"; }

    /**
     * The C expression for the linear index into a tensor of shape {@code in} (numpy-broadcast to {@code out})
     * of the element at linear index {@code idx} of {@code out}: broadcast axes contribute nothing.
     */
    static String broadcast(long[] in, long[] out, String idx) {
        if (Arrays.equals(in, out)) return idx;
        int off = out.length - in.length;
        long[] ost = strides(out), ist = strides(in);
        List<String> terms = new ArrayList<>();
        for (int a = 0; a < out.length; a++) {
            int j = a - off;
            if (j < 0 || in[j] == 1) continue;
            terms.add(coord(idx, ost[a], out[a], a == 0) + (ist[j] == 1 ? "" : " * " + ll(ist[j])));
        }
        return terms.isEmpty() ? "0" : String.join(" + ", terms);
    }

    /** Coordinate of axis (stride {@code stride}, size {@code size}) of linear index {@code idx}. */
    static String coord(String idx, long stride, long size, boolean outermost) {
        String q = stride == 1 ? "(" + idx + ")" : "((" + idx + ") / " + ll(stride) + ")";
        return outermost ? q : "(" + q + " % " + ll(size) + ")";
    }

    /**
     * Offset (in elements) of batch {@code bz} (a linear index over {@code outBatch}) inside an operand whose
     * own batch dims are {@code inBatch} (right-aligned, broadcast where 1 or missing) and whose every batch
     * entry holds {@code matrix} elements.
     */
    static String batchOffset(String bz, long[] inBatch, long[] outBatch, long matrix) {
        int off = outBatch.length - inBatch.length;
        long[] ost = strides(outBatch), ist = strides(inBatch);
        List<String> terms = new ArrayList<>();
        for (int a = 0; a < outBatch.length; a++) {
            int j = a - off;
            if (j < 0 || inBatch[j] == 1) continue;
            terms.add(coord(bz, ost[a], outBatch[a], a == 0) + " * " + ll(ist[j] * matrix));
        }
        return terms.isEmpty() ? "0LL" : "(" + String.join(" + ", terms) + ")";
    }
}
