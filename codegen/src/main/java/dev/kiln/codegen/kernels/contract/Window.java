package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CudaSource;
import dev.kiln.ir.Node;
import dev.kiln.ir.UnsupportedException;

import java.util.Arrays;

/**
 * The sliding-window geometry of a Conv, ConvTranspose or pool over its spatial axes, with {@code auto_pad}
 * resolved against the static input and output sizes. Input position of output {@code o} and tap {@code k}:
 * {@code i = o*stride - padBegin + k*dilation} (for ConvTranspose the same relation read backwards).
 */
record Window(long[] in, long[] out, long[] kernel, long[] strides, long[] dilations, long[] padBegin, long[] padEnd) {

    int rank() { return in.length; }

    /** Conv and pools: SAME pads split the total so that out = ceil(in / stride); SAME_UPPER puts the extra at the end. */
    static Window forward(Node n, long[] in, long[] out, long[] kernel) {
        int r = in.length;
        long[] s = ints(n, "strides", r), d = ints(n, "dilations", r);
        long[] pb = new long[r], pe = new long[r];
        String auto = n.attrString("auto_pad", "NOTSET");
        switch (auto) {
            case "NOTSET" -> explicitPads(n, r, pb, pe);
            case "VALID" -> {}
            case "SAME_UPPER", "SAME_LOWER" -> {
                for (int a = 0; a < r; a++) {
                    long total = Math.max(0, (out[a] - 1) * s[a] + (kernel[a] - 1) * d[a] + 1 - in[a]);
                    pb[a] = auto.equals("SAME_UPPER") ? total / 2 : total - total / 2;
                    pe[a] = total - pb[a];
                }
            }
            default -> throw n.error(new UnsupportedException("auto_pad " + auto + " is not supported"));
        }
        return new Window(in, out, kernel, s, d, pb, pe);
    }

    /**
     * ConvTranspose: with {@code output_shape} or SAME auto_pad, total = stride*(in-1) + output_padding +
     * (k-1)*dilation + 1 - out, split as ONNX says (SAME_LOWER puts the extra at the beginning).
     */
    static Window transposed(Node n, long[] in, long[] out, long[] kernel) {
        int r = in.length;
        long[] s = ints(n, "strides", r), d = ints(n, "dilations", r);
        long[] op = n.attrInts("output_padding") == null ? new long[r] : n.attrInts("output_padding");
        long[] pb = new long[r], pe = new long[r];
        String auto = n.attrString("auto_pad", "NOTSET");
        boolean same = auto.startsWith("SAME") || auto.equals("NOTSET") && n.hasAttr("output_shape");
        if (same) {
            for (int a = 0; a < r; a++) {
                long total = s[a] * (in[a] - 1) + op[a] + (kernel[a] - 1) * d[a] + 1 - out[a];
                pb[a] = auto.equals("SAME_LOWER") ? total - total / 2 : total / 2;
                pe[a] = total - pb[a];
            }
        } else if (auto.equals("NOTSET")) explicitPads(n, r, pb, pe);
        else if (!auto.equals("VALID")) throw n.error(new UnsupportedException("auto_pad " + auto + " is not supported"));
        return new Window(in, out, kernel, s, d, pb, pe);
    }

    private static void explicitPads(Node n, int r, long[] pb, long[] pe) {
        long[] p = n.attrInts("pads");
        if (p == null) return;
        if (p.length != 2 * r) throw n.error(new UnsupportedException("pads has " + p.length + " entries for " + r + " spatial axes"));
        System.arraycopy(p, 0, pb, 0, r);
        System.arraycopy(p, r, pe, 0, r);
    }

    private static long[] ints(Node n, String name, int r) {
        long[] v = n.attrInts(name);
        if (v == null) { v = new long[r]; Arrays.fill(v, 1); }
        if (v.length != r) throw n.error(new UnsupportedException(name + " has " + v.length + " entries for " + r + " spatial axes"));
        return v;
    }

    /**
     * Declares {@code const long long <prefix>0..} = the coordinates of linear index {@code idx} in the row-major
     * {@code shape}, outermost first.
     */
    static void decompose(CudaSource src, String idx, long[] shape, String[] names) {
        src.line("long long rest = %s;", idx);
        for (int a = shape.length - 1; a >= 1; a--) {
            src.line("const long long %s = rest %% %dLL;", names[a], shape[a]);
            src.line("rest /= %dLL;", shape[a]);
        }
        src.line("const long long %s = rest;", names[0]);
    }

    /** Spatial offset {@code ((i0)*I1 + i1)*I2 + i2} of variables {@code <v>0..} within a row-major block of sizes {@code dims}. */
    static String offset(String v, long[] dims) {
        String e = v + "0";
        for (int a = 1; a < dims.length; a++) e = "(" + e + ") * " + dims[a] + "LL + " + v + a;
        return e;
    }
}
