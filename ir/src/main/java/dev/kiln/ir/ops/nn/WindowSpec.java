package dev.kiln.ir.ops.nn;

import dev.kiln.ir.Dim;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.Node;
import dev.kiln.ir.ShapeException;

import java.util.Arrays;
import java.util.Set;

/**
 * The sliding-window attributes that Conv and the pools share (kernel_shape, strides, dilations, pads,
 * auto_pad, ceil_mode), validated once, with the ONNX output-size and padding formulas for one spatial axis.
 * Sizes are per spatial axis; {@code pads} is ONNX's {@code [x1_begin, x2_begin, ..., x1_end, x2_end, ...]}.
 */
public record WindowSpec(int rank, long[] kernel, long[] strides, long[] dilations, long[] pads, String autoPad,
                         boolean ceilMode) {
    public static final Set<String> AUTO_PADS = Set.of("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID");

    /**
     * Reads and checks the window attributes of {@code node} for {@code rank} spatial axes.
     * @param kernel the kernel sizes (from kernel_shape or the weight), or null to read kernel_shape (required)
     */
    public static WindowSpec of(Node node, int rank, long[] kernel, boolean allowCeil, boolean allowDilations) {
        if (kernel == null) {
            kernel = node.attrInts("kernel_shape");
            if (kernel == null) throw node.missing("kernel_shape");
        }
        long[] strides = ints(node, "strides", rank, 1);
        long[] dilations = allowDilations ? ints(node, "dilations", rank, 1) : filled(rank, 1);
        long[] pads = ints(node, "pads", 2 * rank, 0);
        String autoPad = node.attrString("auto_pad", "NOTSET");
        if (!AUTO_PADS.contains(autoPad))
            throw bad(node, "auto_pad must be one of NOTSET, SAME_UPPER, SAME_LOWER, VALID, not '" + autoPad + "'");
        if (kernel.length != rank)
            throw bad(node, "kernel_shape " + Arrays.toString(kernel) + " should have " + rank + " values (one per spatial axis)");
        positive(node, "kernel_shape", kernel);
        positive(node, "strides", strides);
        positive(node, "dilations", dilations);
        for (long p : pads) if (p < 0) throw bad(node, "pads " + Arrays.toString(pads) + " must not be negative");
        long ceil = node.attrInt("ceil_mode", 0);
        if (ceil != 0 && ceil != 1) throw bad(node, "ceil_mode must be 0 or 1, not " + ceil);
        if (ceil == 1 && !allowCeil) throw bad(node, "ceil_mode is not an attribute of this op");
        return new WindowSpec(rank, kernel, strides, dilations, pads, autoPad, ceil == 1);
    }

    /** An ints attribute of the given length, or {@code dflt} repeated when absent (or empty). */
    static long[] ints(Node node, String name, int len, long dflt) {
        long[] v = node.attrInts(name);
        if (v == null || v.length == 0) return filled(len, dflt);
        if (v.length != len) throw bad(node, name + " " + Arrays.toString(v) + " should have " + len + " values");
        return v;
    }

    /** The static sizes of dims {@code from..} of a ranked shape, or null when any is symbolic. */
    static long[] staticSizes(dev.kiln.ir.Shape s, int from) {
        long[] r = new long[s.rank() - from];
        for (int i = 0; i < r.length; i++) {
            if (!s.dim(from + i).isStatic()) return null;
            r[i] = s.dim(from + i).size();
        }
        return r;
    }

    static long[] filled(int len, long v) {
        long[] r = new long[len];
        Arrays.fill(r, v);
        return r;
    }

    private static void positive(Node node, String name, long[] v) {
        for (long x : v) if (x < 1) throw bad(node, name + " " + Arrays.toString(v) + " must be positive");
    }

    static InvalidModelException bad(Node node, String message) { return node.error(new InvalidModelException(message)); }

    /** The extent of the dilated kernel on axis d. */
    public long span(int d) { return (kernel[d] - 1) * dilations[d] + 1; }

    private boolean same() { return autoPad.startsWith("SAME"); }

    /** Output size on axis d for input size {@code in}; a ShapeException when the window does not fit. */
    public long outSize(int d, long in) {
        long out;
        if (same()) out = Math.ceilDiv(in, strides[d]);
        else {
            long padded = in + (autoPad.equals("VALID") ? 0 : pads[d] + pads[rank + d]) - span(d);
            out = padded < 0 ? 0 : (ceilMode ? Math.ceilDiv(padded, strides[d]) : padded / strides[d]) + 1;
            // ceil_mode: a last window that would start in the end padding is dropped (as PyTorch and ONNX do)
            if (ceilMode && out > 0 && (out - 1) * strides[d] >= in + padBegin(d, in)) out--;
        }
        if (out < 1)
            throw new ShapeException("window of size " + span(d) + " (kernel " + kernel[d] + ", dilation " + dilations[d]
                    + ") does not fit spatial axis " + d + " of size " + in + " with its padding");
        return out;
    }

    /** Output dim on axis d: static when the input is, the same symbol when the window maps the axis 1:1. */
    public Dim outDim(int d, Dim in) {
        if (in.isStatic()) return Dim.of(outSize(d, in.size()));
        boolean identity = span(d) == 1 && strides[d] == 1 && (same() || autoPad.equals("VALID") || pads[d] + pads[rank + d] == 0);
        return identity ? in : Dim.UNKNOWN;
    }

    /** Padding before axis d; SAME_UPPER puts the odd extra pad at the end, SAME_LOWER at the beginning. */
    public long padBegin(int d, long in) {
        if (autoPad.equals("VALID")) return 0;
        if (!same()) return pads[d];
        long total = samePadTotal(d, in);
        return autoPad.equals("SAME_UPPER") ? total / 2 : total - total / 2;
    }

    public long padEnd(int d, long in) {
        if (autoPad.equals("VALID")) return 0;
        if (!same()) return pads[rank + d];
        return samePadTotal(d, in) - padBegin(d, in);
    }

    private long samePadTotal(int d, long in) {
        long out = Math.ceilDiv(in, strides[d]);
        return Math.max(0, (out - 1) * strides[d] + span(d) - in);
    }

    /** The index tables for input spatial sizes {@code in}. */
    public Window window(long[] in) {
        long[] out = new long[rank], pb = new long[rank], pe = new long[rank];
        for (int d = 0; d < rank; d++) {
            out[d] = outSize(d, in[d]);
            pb[d] = padBegin(d, in[d]);
            pe[d] = padEnd(d, in[d]);
        }
        return new Window(in, out, kernel, strides, dilations, pb, pe);
    }
}
