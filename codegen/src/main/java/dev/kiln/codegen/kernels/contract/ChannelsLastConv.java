package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.CudaSource;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.kernels.gemm.GemmConfig;
import dev.kiln.codegen.kernels.gemm.GemmOperand;
import dev.kiln.codegen.kernels.gemm.GemmProblem;
import dev.kiln.codegen.kernels.gemm.NhwcConvOperand;
import dev.kiln.codegen.kernels.gemm.StridedOperand;
import dev.kiln.ir.DType;
import dev.kiln.ir.Node;
import dev.kiln.ir.UnsupportedException;

import java.util.ArrayList;
import java.util.List;

/**
 * NhwcConv (X {@code [N, H, W, C]}, W {@code [M, kH, kW, C/group]}, Y {@code [N, OH, OW, M]}) and its fused
 * epilogue, three ways:
 * <ul>
 * <li>one group, f16/bf16/f32: implicit GEMM on the contraction engine ({@link #gemmProblem}): rows = output
 *     pixels, columns = output channels, k = (ky, kx, c) with the channel fastest, so A is read in 16-byte runs
 *     of channels when C is a multiple of 8 (f16) or 4 (f32); B is the weight as {@code [M, K]}, k-contiguous;
 *     the output {@code [pixels, M]} row-major is NHWC. A 1x1, stride 1, unpadded conv is a plain GEMM.</li>
 * <li>depthwise (group = C, any multiplier): {@link #emitDepthwise}, memory-bound.</li>
 * <li>any other group count (and f64): {@link #emitDirect}, one thread per output run of channels.</li>
 * </ul>
 */
final class ChannelsLastConv {
    private ChannelsLastConv() {}

    /** The conv's static geometry, read from the types and the attributes. */
    record Geometry(long n, long h, long w, long c, long m, long oh, long ow, long kh, long kw, long group, Window win) {
        static Geometry of(Node conv) {
            long[] x = conv.input(0).shape().sizes(), wt = conv.input(1).shape().sizes(), y = conv.output(0).shape().sizes();
            if (x.length != 4 || wt.length != 4 || y.length != 4)
                throw conv.error(new UnsupportedException("NhwcConv has GPU kernels for 2-D windows only, got " + conv.input(0).shape()));
            long group = conv.attrInt("group", 1);
            if (group < 1 || x[3] % group != 0 || y[3] % group != 0 || wt[3] * group != x[3])
                throw conv.error(new UnsupportedException("group " + group + " does not divide channels " + x[3] + " -> " + y[3]));
            Window win = Window.forward(conv, new long[] {x[1], x[2]}, new long[] {y[1], y[2]}, new long[] {wt[1], wt[2]});
            return new Geometry(x[0], x[1], x[2], x[3], y[3], y[1], y[2], wt[1], wt[2], group, win);
        }

        long sh() { return win.strides()[0]; }
        long sw() { return win.strides()[1]; }
        long dh() { return win.dilations()[0]; }
        long dw() { return win.dilations()[1]; }
        long ph() { return win.padBegin()[0]; }
        long pw() { return win.padBegin()[1]; }
        long taps() { return kh * kw; }
        boolean padded() { return ph() != 0 || pw() != 0 || win.padEnd()[0] != 0 || win.padEnd()[1] != 0; }
        boolean pointwise() { return kh == 1 && kw == 1 && sh() == 1 && sw() == 1 && !padded(); }
        boolean depthwise() { return group == c && group > 1; }

        /** What decides the kernel besides the GEMM sizes: the window. */
        String label() {
            return kh + "x" + kw + "/" + sh() + "," + sw() + " d" + dh() + "," + dw() + " p" + ph() + "," + pw() + "," + win.padEnd()[0] + ","
                    + win.padEnd()[1] + " " + n + "x" + h + "x" + w + "x" + c + " g" + group;
        }
    }

    /** Whether the node runs on the contraction engine (then it has tile configs to tune). */
    static boolean onEngine(Node conv) {
        DType t = conv.input(0).dtype();
        return Geometry.of(conv).group == 1 && (t == DType.F16 || t == DType.BF16 || t == DType.F32);
    }

    static GemmProblem gemmProblem(FusedBody fb, CodegenOptions options) {
        Node conv = fb.main();
        Geometry g = Geometry.of(conv);
        DType t = conv.input(0).dtype();
        long pixels = g.n * g.oh * g.ow, k = g.taps() * g.c;
        GemmOperand a = g.pointwise() ? StridedOperand.dense(fb.in(conv.input(0)), t, pixels, g.c, true)
                : new NhwcConvOperand(fb.in(conv.input(0)), t, g.n, g.h, g.w, g.c, g.oh, g.ow, g.kh, g.kw, g.sh(), g.sw(), g.ph(), g.pw(),
                g.win.padEnd()[0], g.win.padEnd()[1], g.dh(), g.dw());
        StridedOperand b = StridedOperand.dense(fb.in(conv.input(1)), t, g.m, k, true); // [M, K]: k-contiguous
        return GemmProblem.of(pixels, g.m, k, new long[0], a, b, options);
    }

    static KernelSpec emitGemm(FusedBody fb, GemmProblem p, GemmConfig config, String entry) {
        Node conv = fb.main();
        GemmConfig c = config != null ? config : ConvTuning.choose(p);
        // [pixels, M] row-major: NHWC
        return fb.rowMajorGemmKernel(p, c, conv.op() + " " + conv.input(0).type() + " * " + conv.input(1).type() + " -> " + conv.output(0).type()
                + ", " + Geometry.of(conv).label() + (Geometry.of(conv).pointwise() ? ", plain GEMM " : ", implicit GEMM ") + c.label(), entry,
                conv.hasInput(2) ? conv.input(2) : null);
    }

    /** Pixels per thread along OW and the channel vector of the depthwise kernel. */
    record DwShape(int v, int p, int cols, int ct, int by, int threads) {}

    /** Whether the depthwise kernel's weight tile (one run of channels, all taps, in fp32/fp64) fits its 32 KB. */
    static boolean depthwiseFits(Geometry g, DType t) {
        // the weight tile does not depend on the pixels per thread
        return g.depthwise() && g.taps() * (g.m == g.c ? VecIo.width(t, g.c) : 1) * (t == DType.F64 ? 8 : 4) <= 32 * 1024;
    }

    static DwShape dwShape(Geometry g, DType t, int smCount) {
        long mult = g.m / g.c;
        int v = mult == 1 ? VecIo.width(t, g.c) : 1;
        // several pixels per thread reuse input columns, but only once there are threads enough to hide latency
        long runs = g.n * g.oh * g.ow * (g.m / v);
        int p = 4;
        while (p > 1 && (runs / p < 512L * smCount || ((long) (p - 1) * g.sw() + (g.kw - 1) * g.dw() + 1) * v > 96)) p /= 2;
        p = (int) Math.min(p, g.ow);
        int cols = (int) ((p - 1) * g.sw() + (g.kw - 1) * g.dw() + 1);
        long groups = g.m / v;
        // the block's weights are staged in shared memory as fp32 [taps][ct * v]: keep them under 32 KB
        int ct = (int) Math.max(1, Math.min(Math.min(groups, 32), (t == DType.F64 ? 4096 : 8192) / (g.taps() * v)));
        int by = Math.max(1, 256 / ct);
        // small maps (7x7x960): smaller blocks, so that the blocks reach every SM
        long pg = g.n * g.oh * ((g.ow + p - 1) / p), tilesC = (groups + ct - 1) / ct;
        while (by > 1 && (pg + by - 1) / by * tilesC < smCount) by /= 2;
        return new DwShape(v, p, cols, ct, by, (ct * by + 31) / 32 * 32);
    }

    /**
     * Depthwise (group = C, M = C x multiplier): a block owns a tile of {@code ct} channel runs of v channels
     * ({@code threadIdx.x}, so a warp's loads and stores are contiguous; 16-byte accesses when C is a multiple of
     * 8 f16 or 4 f32) and loops over pixel groups ({@code ty}, grid-stride); each thread computes p
     * adjacent output pixels of a row. The block first stages its channels' weights transposed into shared
     * memory ({@code [tap][channel]}, fp32), so the {@code [M, kH, kW, 1]} weight needs no re-layout. Per kernel
     * row, the thread loads the p pixels' input columns once ({@code cols} vectors in registers) and reuses
     * them across the kx taps; fp32 accumulation, bias and epilogue, one vector store per pixel.
     */
    static KernelSpec emitDepthwise(FusedBody fb, String entry, int smCount) {
        Node conv = fb.main();
        Geometry g = Geometry.of(conv);
        DType t = conv.input(0).dtype();
        DwShape d = dwShape(g, t, smCount);
        long mult = g.m / g.c, groups = g.m / d.v(), owb = (g.ow + d.p() - 1) / d.p(), pg = g.n * g.oh * owb;
        int v = d.v(), p = d.p(), threads = d.threads(), tileCh = d.ct() * v;
        String acc = t == DType.F64 ? "double" : "float", T = CTypes.storage(t);
        boolean vecOut = !fb.hasStoreView();
        CudaSource src = new CudaSource();
        fb.header(src, conv.op() + " " + conv.input(0).type() + " * " + conv.input(1).type() + " -> " + conv.output(0).type()
                + ", " + g.label() + ", depthwise: " + v + " channels x " + p + " pixels per thread");
        src.line("");
        // a minimum of blocks per SM keeps ptxas from squeezing registers (and spilling) for an occupancy target of its own
        try (var k = src.block(fb.signature(entry, threads + (p == 1 ? ", 2" : ", 1"), List.of()))) {
            src.line("__shared__ __align__(16) %s ws[%d][%d];", acc, g.taps(), tileCh);
            src.line("const %s* __restrict__ X = %s;", T, fb.in(conv.input(0)));
            src.line("const %s* __restrict__ W = %s;", T, fb.in(conv.input(1)));
            src.line("const int tid = threadIdx.x, tx = tid %% %d, ty = tid / %d;", d.ct(), d.ct());
            src.line("const long long ch0 = (long long)blockIdx.y * %d;", tileCh);
            try (var l = src.block("for (int i = tid; i < " + g.taps() * tileCh + "; i += " + threads + ")")) {
                src.line("const int tap = i / %d, j = i %% %d;", tileCh, tileCh);
                src.line("ws[tap][j] = ch0 + j < %dLL ? (%s)%s : (%s)0;", g.m, acc, CTypes.load(t, "W[(ch0 + j) * " + g.taps() + "LL + tap]"), acc);
            }
            src.line("__syncthreads();");
            src.line("const long long grp = (long long)blockIdx.y * %d + tx;", d.ct());
            src.line("if (ty >= %d || grp >= %dLL) return;", d.by(), groups);
            src.line("const long long m0 = grp * %d;", v);
            src.line("const long long cin = %s;", mult == 1 ? "m0" : "m0 / " + mult + "LL");
            try (var l = src.block("for (long long q = (long long)blockIdx.x * " + d.by() + " + ty; q < " + pg
                    + "LL; q += (long long)gridDim.x * " + d.by() + ")")) {
                src.line("const long long owb = q %% %dLL, rest = q / %dLL;", owb, owb);
                src.line("const long long oy = rest %% %dLL, img = rest / %dLL;", g.oh, g.oh);
                src.line("const long long ox0 = owb * %d;", p);
                src.line("%s acc[%d][%d];", acc, p, v);
                src.line("#pragma unroll");
                try (var a = src.block("for (int pp = 0; pp < " + p + "; pp++)")) {
                    src.line("#pragma unroll");
                    src.line("for (int e = 0; e < %d; e++) acc[pp][e] = 0;", v);
                }
                src.line("const %s* xn = X + img * %dLL + cin;", T, g.h * g.w * g.c);
                try (var ky = src.block("for (int ky = 0; ky < " + g.kh + "; ky++)")) {
                    src.line("const long long iy = oy * %dLL - %dLL + ky * %dLL;", g.sh(), g.ph(), g.dh());
                    src.line("if ((unsigned long long)iy >= %dULL) continue;", g.h);
                    src.line("const %s* row = xn + iy * %dLL;", T, g.w * g.c);
                    src.line("%s col[%d][%d];", acc, d.cols(), v);
                    src.line("#pragma unroll");
                    try (var j = src.block("for (int j = 0; j < " + d.cols() + "; j++)")) {
                        src.line("const long long ix = ox0 * %dLL - %dLL + j;", g.sw(), g.pw());
                        try (var in = src.block("if ((unsigned long long)ix < " + g.w + "ULL)")) {
                            VecIo.load(src, t, v, "col[j]", acc, "row + ix * " + g.c + "LL");
                        }
                        try (var out = src.block("else")) {
                            src.line("#pragma unroll");
                            src.line("for (int e = 0; e < %d; e++) col[j][e] = 0;", v);
                        }
                    }
                    src.line("#pragma unroll");
                    try (var kx = src.block("for (int kx = 0; kx < " + g.kw + "; kx++)")) {
                        src.line("%s wv[%d];", acc, v);
                        src.line("#pragma unroll");
                        src.line("for (int e = 0; e < %d; e++) wv[e] = ws[ky * %d + kx][tx * %d + e];", v, g.kw, v);
                        src.line("#pragma unroll");
                        try (var pp = src.block("for (int pp = 0; pp < " + p + "; pp++)")) {
                            src.line("#pragma unroll");
                            src.line("for (int e = 0; e < %d; e++) acc[pp][e] = %s(col[pp * %d + kx * %d][e], wv[e], acc[pp][e]);",
                                    v, t == DType.F64 ? "fma" : "fmaf", g.sw(), g.dw());
                        }
                    }
                }
                src.line("#pragma unroll");
                try (var pp = src.block("for (int pp = 0; pp < " + p + "; pp++)")) {
                    src.line("if (ox0 + pp >= %dLL) break;", g.ow);
                    src.line("const long long base = ((img * %dLL + oy) * %dLL + ox0 + pp) * %dLL + m0;", g.oh, g.ow, g.m);
                    storeRun(fb, src, t, v, acc, "acc[pp]", "base", "m0", vecOut);
                }
            }
        }
        long gridY = (groups + d.ct() - 1) / d.ct();
        long gridX = Math.max(1, Math.min((pg + d.by() - 1) / d.by(), Math.max(1, 8L * smCount / gridY)));
        return new KernelSpec(entry, src.toString(), entry, KernelSpec.Dim3.of(gridX, gridY, 1), KernelSpec.Dim3.of(threads), 0,
                fb.params(), fb.origins());
    }

    /**
     * Bias, epilogue and store of the run of v outputs {@code vals[0..v)} at linear index {@code base} (output
     * channel {@code m0}): one vector store per body output, or element stores through a store view.
     */
    static void storeRun(FusedBody fb, CudaSource src, DType t, int v, String acc, String vals, String base, String m0, boolean vecOut) {
        Node conv = fb.main();
        String bias = conv.hasInput(2) ? fb.in(conv.input(2)) : null;
        if (!vecOut || v == 1) {
            src.line("#pragma unroll");
            try (var e = src.block("for (int e = 0; e < " + v + "; e++)")) {
                src.line("const %s r = %s[e]%s;", acc, vals, bias == null ? "" : " + (" + acc + ")" + CTypes.load(t, bias + "[" + m0 + " + e]"));
                fb.emitEpilogue(src, "r", base + " + e");
            }
            return;
        }
        int outs = fb.body().outputs().size();
        List<List<String>> values = new ArrayList<>();
        for (int i = 0; i < outs; i++) {
            values.add(new ArrayList<>());
            if (fb.fused().output(i).isNone()) continue;
            for (int e = 0; e < v; e++) values.get(i).add("o" + i + "_" + e);
            src.line("%s %s;", CTypes.storage(fb.body().outputs().get(i).dtype()), String.join(", ", values.get(i)));
        }
        for (int e = 0; e < v; e++) {
            try (var b = src.block("")) { // each element's epilogue temporaries in their own scope
                src.line("const %s r = %s[%d]%s;", acc, vals, e, bias == null ? "" : " + (" + acc + ")" + CTypes.load(t, bias + "[" + m0 + " + " + e + "]"));
                List<String> r = fb.epilogueValues(src, "r", base + " + " + e);
                for (int i = 0; i < outs; i++) if (r.get(i) != null) src.line("o%d_%d = %s;", i, e, r.get(i));
            }
        }
        for (int i = 0; i < outs; i++)
            if (!values.get(i).isEmpty()) VecIo.store(src, fb.body().outputs().get(i).dtype(), v, "out" + i + " + " + base, values.get(i));
    }

    static final int DIRECT_THREADS = 256;

    /**
     * Any group count (grouped convs such as ResNeXt's, f64, and the rare cases the other two leave): one thread
     * per run of v output channels of one pixel, channels fastest (coalesced); the run stays in one group, whose
     * C/group input channels it reads v at a time when C/group is a multiple of v.
     */
    static KernelSpec emitDirect(FusedBody fb, String entry) {
        Node conv = fb.main();
        Geometry g = Geometry.of(conv);
        DType t = conv.input(0).dtype();
        long cg = g.c / g.group, mg = g.m / g.group;
        int v = VecIo.width(t, Math.min(cg, mg)) ;
        if (mg % v != 0 || cg % v != 0) v = 1;
        int cv = VecIo.width(t, cg); // input-channel vector for the inner product
        long runs = g.n * g.oh * g.ow * (g.m / v);
        String acc = t == DType.F64 ? "double" : "float", T = CTypes.storage(t), fma = t == DType.F64 ? "fma" : "fmaf";
        CudaSource src = new CudaSource();
        fb.header(src, conv.op() + " " + conv.input(0).type() + " * " + conv.input(1).type() + " -> " + conv.output(0).type()
                + ", " + g.label() + ", direct: " + v + " output channels per thread");
        src.line("");
        try (var k = src.block(fb.signature(entry, DIRECT_THREADS))) {
            src.line("const %s* __restrict__ X = %s;", T, fb.in(conv.input(0)));
            src.line("const %s* __restrict__ W = %s;", T, fb.in(conv.input(1)));
            try (var l = src.block("for (long long q = (long long)blockIdx.x * blockDim.x + threadIdx.x; q < " + runs
                    + "LL; q += (long long)gridDim.x * blockDim.x)")) {
                src.line("const long long m0 = q %% %dLL * %d, pix = q / %dLL;", g.m / v, v, g.m / v);
                src.line("const long long ox = pix %% %dLL, r2 = pix / %dLL;", g.ow, g.ow);
                src.line("const long long oy = r2 %% %dLL, img = r2 / %dLL;", g.oh, g.oh);
                src.line("const long long c0 = m0 / %dLL * %dLL;", mg, cg);
                src.line("%s acc[%d];", acc, v);
                src.line("#pragma unroll");
                src.line("for (int e = 0; e < %d; e++) acc[e] = 0;", v);
                try (var ky = src.block("for (int ky = 0; ky < " + g.kh + "; ky++)")) {
                    src.line("const long long iy = oy * %dLL - %dLL + ky * %dLL;", g.sh(), g.ph(), g.dh());
                    src.line("if ((unsigned long long)iy >= %dULL) continue;", g.h);
                    try (var kx = src.block("for (int kx = 0; kx < " + g.kw + "; kx++)")) {
                        src.line("const long long ix = ox * %dLL - %dLL + kx * %dLL;", g.sw(), g.pw(), g.dw());
                        src.line("if ((unsigned long long)ix >= %dULL) continue;", g.w);
                        src.line("const %s* xp = X + ((img * %dLL + iy) * %dLL + ix) * %dLL + c0;", T, g.h, g.w, g.c);
                        src.line("const %s* wp = W + (ky * %d + kx) * %dLL;", T, g.kw, cg);
                        try (var c = src.block("for (long long c = 0; c < " + cg + "LL; c += " + cv + ")")) {
                            src.line("%s xv[%d];", acc, cv);
                            VecIo.load(src, t, cv, "xv", acc, "xp + c");
                            src.line("#pragma unroll");
                            try (var e = src.block("for (int e = 0; e < " + v + "; e++)")) {
                                src.line("%s wv[%d];", acc, cv);
                                VecIo.load(src, t, cv, "wv", acc, "wp + (m0 + e) * " + g.taps() * cg + "LL + c");
                                src.line("#pragma unroll");
                                src.line("for (int u = 0; u < %d; u++) acc[e] = %s(xv[u], wv[u], acc[e]);", cv, fma);
                            }
                        }
                    }
                }
                src.line("const long long base = pix * %dLL + m0;", g.m);
                storeRun(fb, src, t, v, acc, "acc", "base", "m0", !fb.hasStoreView());
            }
        }
        long blocks = Math.max(1, Math.min((runs + DIRECT_THREADS - 1) / DIRECT_THREADS, 1L << 20));
        return new KernelSpec(entry, src.toString(), entry, KernelSpec.Dim3.of(blocks), KernelSpec.Dim3.of(DIRECT_THREADS), 0,
                fb.params(), fb.origins());
    }
}
