package dev.kiln.codegen.kernels.gemm;

import dev.kiln.ir.DType;

/**
 * The A operand of a channels-last 2-D convolution (NhwcConv, one group) as implicit GEMM over an input
 * {@code [N, H, W, C]}: row mn is an output pixel {@code (n, oh, ow)}, column k a tap {@code (ky, kx, c)} with the
 * channel fastest, so k runs along contiguous channels: when C is a multiple of the vector, every aligned run
 * of k lies in one tap, is contiguous and aligned, and is inside or outside the padding as a whole (16-byte
 * cp.async). The element is {@code x[n, oh*sh - ph + ky*dh, ow*sw - pw + kx*dw, c]}, zero in the padding.
 * Index math is 32-bit when the input and the GEMM fit (cheaper divisions by the constant map sizes).
 */
public record NhwcConvOperand(String pointer, DType dtype, long n, long h, long w, long c, long oh, long ow, long kh, long kw,
                              long sh, long sw, long ph, long pw, long padEndH, long padEndW, long dh, long dw) implements GemmOperand {

    public long mnSize() { return n * oh * ow; }

    @Override public long footprint(long mnSize, long kSize) { return Math.min(mnSize * kSize, n * h * w * c); }

    public long kSize() { return kh * kw * c; }

    @Override public Major major() { return Major.K; }

    /** Runs along k stay in one tap's channels (C a multiple of the run) and start aligned (every pixel is C apart). */
    @Override public boolean vectorizable(int elems) { return elems == 1 || c % elems == 0; }

    @Override public String batchOffset(String bz) { return "0LL"; }

    private boolean narrow() {
        long limit = Integer.MAX_VALUE;
        return n * h * w * c < limit && mnSize() < limit && kSize() < limit && (oh * sh + kh * dh) * w * c < limit;
    }

    private String u() { return narrow() ? "unsigned" : "unsigned long long"; }

    private String lit(long v) { return v + (narrow() ? "u" : "ULL"); }

    /** {@code n*HWC + oh*sh*WC + ow*sw*C - (ph*WC + pw*C)}: negative in the padding, where valid() is false. */
    @Override public String mnOffset(String mn) {
        String x = "((" + u() + ")(" + mn + "))";
        String img = x + " / " + lit(oh * ow), oy = x + " % " + lit(oh * ow) + " / " + lit(ow), ox = x + " % " + lit(ow);
        String off = "(" + img + ") * " + lit(h * w * c) + " + (" + oy + ") * " + lit(sh * w * c) + " + (" + ox + ") * " + lit(sw * c);
        long pad = ph * w * c + pw * c;
        return "((long long)(" + off + ")" + (pad == 0 ? "" : " - " + pad + "LL") + ")";
    }

    /** {@code ky*dh*WC + kx*dw*C + c}. */
    @Override public String kOffset(String k) {
        String x = "((" + u() + ")(" + k + "))";
        if (kh * kw == 1) return "((long long)" + x + ")";
        String tap = x + " / " + lit(c), ch = x + " % " + lit(c);
        String off = "(" + tap + ") / " + lit(kw) + " * " + lit(dh * w * c) + " + (" + tap + ") % " + lit(kw) + " * " + lit(dw * c) + " + " + ch;
        return "((long long)(" + off + "))";
    }

    /** Inside the input (not in the padding); null when no tap reaches the padding. */
    @Override public String valid(String mn, String k) {
        if (ph == 0 && pw == 0 && padEndH == 0 && padEndW == 0) return null;
        String s = narrow() ? "int" : "long long";
        String x = "((" + u() + ")(" + mn + "))", kk = "((" + u() + ")(" + k + "))";
        String tap = "(" + kk + " / " + lit(c) + ")";
        String ih = "(" + s + ")(" + x + " % " + lit(oh * ow) + " / " + lit(ow) + " * " + lit(sh) + " + " + tap + " / " + lit(kw) + " * " + lit(dh) + ") - " + ph;
        String iw = "(" + s + ")(" + x + " % " + lit(ow) + " * " + lit(sw) + " + " + tap + " % " + lit(kw) + " * " + lit(dw) + ") - " + pw;
        // & (not &&): both sides are cheap and branch-free, so a loader can share the k terms between chunks
        return "((" + u() + ")(" + ih + ") < " + lit(h) + ") & ((" + u() + ")(" + iw + ") < " + lit(w) + ")";
    }
}
