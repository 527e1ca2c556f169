package dev.kiln.codegen.kernels.gemm;

import dev.kiln.ir.DType;

/**
 * The A operand of a 2-D convolution as implicit GEMM over an NCHW input {@code [N, C, H, W]} (one group):
 * row mn is an output pixel {@code (n, oh, ow)} of an {@code OH x OW} map, column k a filter tap
 * {@code (c, ky, kx)} of a {@code KH x KW} window, so the im2col matrix is never written: the element is
 * {@code x[n, c, oh*sh - ph + ky*dh, ow*sw - pw + kx*dw]}, zero in the padding ({@link #valid}). Taps run
 * along kx, so the operand is k-major; 16-byte loads apply when whole runs of kx are contiguous and aligned
 * (unit dilation, no width padding, the row's start a multiple of the vector: the ViT patch embedding).
 */
public record ConvOperand(String pointer, DType dtype, long n, long c, long h, long w, long oh, long ow, long kh, long kw,
                          long sh, long sw, long ph, long pw, long padEndH, long padEndW, long dh, long dw) implements GemmOperand {

    public long mnSize() { return n * oh * ow; }

    @Override public long footprint(long mnSize, long kSize) { return Math.min(mnSize * kSize, n * h * w * c); }

    public long kSize() { return c * kh * kw; }

    @Override public Major major() { return Major.K; }

    @Override public boolean vectorizable(int elems) {
        if (elems == 1) return true;
        return dw == 1 && pw == 0 && padEndW == 0 && kw % elems == 0 && w % elems == 0 && sw % elems == 0;
    }

    @Override public String batchOffset(String bz) { return "0LL"; }

    /** {@code n*C*H*W + (oh*sh - ph)*W + (ow*sw - pw)}: may be negative in the padding, where valid() is false. */
    @Override public String mnOffset(String mn) {
        String img = "(" + mn + ") / " + (oh * ow) + "LL", pix = "(" + mn + ") % " + (oh * ow) + "LL";
        return "((" + img + ") * " + (c * h * w) + "LL + ((" + pix + ") / " + ow + "LL * " + sh + "LL - " + ph + "LL) * " + w
                + "LL + ((" + pix + ") % " + ow + "LL * " + sw + "LL - " + pw + "LL))";
    }

    /** {@code c*H*W + ky*dh*W + kx*dw}. */
    @Override public String kOffset(String k) {
        String ch = "(" + k + ") / " + (kh * kw) + "LL", tap = "(" + k + ") % " + (kh * kw) + "LL";
        return "((" + ch + ") * " + (h * w) + "LL + ((" + tap + ") / " + kw + "LL) * " + (dh * w) + "LL + ((" + tap + ") % " + kw + "LL) * " + dw + "LL)";
    }

    /** Inside the input (not in the padding); null when no tap ever reaches the padding. */
    @Override public String valid(String mn, String k) {
        boolean padded = ph > 0 || pw > 0 || padEndH > 0 || padEndW > 0;
        if (!padded) return null;
        String pix = "((" + mn + ") % " + (oh * ow) + "LL)", tap = "((" + k + ") % " + (kh * kw) + "LL)";
        String ih = "(" + pix + " / " + ow + "LL * " + sh + "LL - " + ph + "LL + " + tap + " / " + kw + "LL * " + dh + "LL)";
        String iw = "(" + pix + " % " + ow + "LL * " + sw + "LL - " + pw + "LL + " + tap + " % " + kw + "LL * " + dw + "LL)";
        return "(unsigned long long)" + ih + " < " + h + "ULL && (unsigned long long)" + iw + " < " + w + "ULL";
    }
}
