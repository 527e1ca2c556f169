package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.CudaSource;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.KernelTemplate;
import dev.kiln.codegen.Tunable;
import dev.kiln.codegen.kernels.gemm.ConvOperand;
import dev.kiln.codegen.kernels.gemm.GemmConfig;
import dev.kiln.codegen.kernels.gemm.GemmHeuristic;
import dev.kiln.codegen.kernels.gemm.GemmProblem;
import dev.kiln.codegen.kernels.gemm.StridedOperand;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.UnsupportedException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Fused kind {@code conv}: one Conv or ConvTranspose (1-D, 2-D, 3-D; groups incl. depthwise; strides,
 * dilations, pads, auto_pad resolved from the static shapes) and its elementwise epilogue. A 2-D Conv of one
 * group in f16, bf16 or f32 runs as implicit GEMM on the contraction engine ({@link #emitGemm}: tensor cores
 * for f16/bf16, exact FMA for f32; the im2col matrix is never written). Every other case is a direct convolution:
 * one thread per output element (grid-stride), looping over the group's input channels and the kernel taps,
 * exact FMA in fp32 (f16/bf16 accumulate in fp32, f64 in double); the bias is added after the sum, then the
 * epilogue runs on the accumulator before the store. No implicit-GEMM tiling yet.
 */
public final class ConvTemplate implements KernelTemplate, Tunable {
    static final int THREADS = 256;

    /** How many of the heuristic's ranked configs are autotuning candidates. */
    static final int CANDIDATES = 8;

    static final Set<String> MAIN_OPS = Set.of("Conv", "ConvTranspose", "NhwcConv");

    @Override public String name() { return "conv"; }

    @Override public boolean accepts(Node node, Graph graph) { return FusedBody.isKind(node, "conv"); }

    @Override public List<KernelSpec> emit(Node node, Graph graph, CodegenContext context) {
        FusedBody fb = FusedBody.of(node, MAIN_OPS);
        GemmProblem p = engineProblem(fb, context.options());
        GemmConfig chosen = p == null ? null : GemmConfig.tuned(context.choice(key(fb, p)), p);
        return emit(node, context.options(), context.kernelName(name()), chosen);
    }

    /** Emits with {@code config} for convs on the contraction engine (the heuristic's choice when null). */
    public List<KernelSpec> emit(Node node, CodegenOptions options, String entry, GemmConfig config) {
        FusedBody fb = FusedBody.of(node, MAIN_OPS);
        Node conv = fb.main();
        DType t = conv.input(0).dtype();
        if (!t.isFloat() || t.bits() < 16 || t.bits() > 64)
            throw node.error(new UnsupportedException(conv.op() + " on " + t + " has no GPU kernel yet"));
        if (conv.op().equals("NhwcConv")) {
            if (Index.numel(conv.output(0).shape().sizes()) == 0) return List.of();
            GemmProblem p = engineProblem(fb, options);
            if (p != null) return List.of(ChannelsLastConv.emitGemm(fb, p, config, entry));
            ChannelsLastConv.Geometry g = ChannelsLastConv.Geometry.of(conv);
            if (ChannelsLastConv.depthwiseFits(g, t)) return List.of(ChannelsLastConv.emitDepthwise(fb, entry, options.smCount()));
            return List.of(ChannelsLastConv.emitDirect(fb, entry));
        }
        boolean transposed = conv.op().equals("ConvTranspose");
        long[] x = conv.input(0).shape().sizes(), w = conv.input(1).shape().sizes(), y = conv.output(0).shape().sizes();
        int r = x.length - 2;
        if (r < 1 || r > 3 || w.length != x.length || y.length != x.length)
            throw node.error(new UnsupportedException(conv.op() + " needs 1-D to 3-D spatial inputs, got " + conv.input(0).shape()));
        long group = conv.attrInt("group", 1);
        long c = x[1], m = y[1];
        if (group < 1 || c % group != 0 || m % group != 0)
            throw node.error(new UnsupportedException("group " + group + " does not divide channels " + c + " -> " + m));
        long[] kernel = Arrays.copyOfRange(w, 2, w.length);
        long[] in = Arrays.copyOfRange(x, 2, x.length), out = Arrays.copyOfRange(y, 2, y.length);
        Window win = transposed ? Window.transposed(conv, in, out, kernel) : Window.forward(conv, in, out, kernel);
        long total = Index.numel(y);
        if (total == 0) return List.of();
        GemmProblem gp = engineProblem(fb, options);
        if (gp != null) return List.of(emitGemm(fb, conv, win, y, t, gp, config, entry));

        String acc = t == DType.F64 ? "double" : "float";
        String fma = t == DType.F64 ? "fma" : "fmaf";
        long cg = c / group, mg = m / group;
        CudaSource src = new CudaSource();
        fb.header(src, conv.op() + " " + conv.input(0).type() + " * " + conv.input(1).type() + " -> " + conv.output(0).type()
                + ", group " + group + ", direct");
        src.line("");
        try (var k = src.block(fb.signature(entry, THREADS))) {
            src.line("const %s* X = %s;", CTypes.storage(t), fb.in(conv.input(0)));
            src.line("const %s* W = %s;", CTypes.storage(t), fb.in(conv.input(1)));
            try (var loop = src.block("for (long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x; idx < "
                    + Index.ll(total) + "; idx += (long long)gridDim.x * blockDim.x)")) {
                String[] names = new String[r + 2];
                names[0] = "n";
                names[1] = "m";
                for (int a = 0; a < r; a++) names[a + 2] = "o" + a;
                Window.decompose(src, "idx", y, names);
                src.line("const long long g = m / %dLL;", mg);
                src.line("%s acc = 0;", acc);
                try (var cl = src.block("for (long long c = 0; c < " + Index.ll(cg) + "; c++)")) {
                    long inSpatial = Index.numel(in), kSpatial = Index.numel(kernel);
                    src.line("const %s* xp = X + (n * %dLL + g * %dLL + c) * %dLL;", CTypes.storage(t), c, cg, inSpatial);
                    if (transposed) // W is [C, M/group, k...]
                        src.line("const %s* wp = W + ((g * %dLL + c) * %dLL + (m %% %dLL)) * %dLL;", CTypes.storage(t), cg, mg, mg, kSpatial);
                    else // W is [M, C/group, k...]
                        src.line("const %s* wp = W + (m * %dLL + c) * %dLL;", CTypes.storage(t), cg, kSpatial);
                    List<CudaSource.Block> open = new ArrayList<>();
                    for (int a = 0; a < r; a++) {
                        open.add(src.block("for (long long k" + a + " = 0; k" + a + " < " + Index.ll(kernel[a]) + "; k" + a + "++)"));
                        if (transposed) {
                            src.line("const long long tp%d = o%d + %dLL - k%d * %dLL;", a, a, win.padBegin()[a], a, win.dilations()[a]);
                            src.line("if (tp%d < 0 || tp%d %% %dLL != 0) continue;", a, a, win.strides()[a]);
                            src.line("const long long i%d = tp%d / %dLL;", a, a, win.strides()[a]);
                        } else {
                            src.line("const long long i%d = o%d * %dLL - %dLL + k%d * %dLL;", a, a, win.strides()[a], win.padBegin()[a], a, win.dilations()[a]);
                            src.line("if (i%d < 0) continue;", a);
                        }
                        src.line("if (i%d >= %dLL) continue;", a, in[a]);
                    }
                    src.line("acc = %s((%s)%s, (%s)%s, acc);", fma, acc, CTypes.load(t, "xp[" + Window.offset("i", in) + "]"),
                            acc, CTypes.load(t, "wp[" + Window.offset("k", kernel) + "]"));
                    for (int a = open.size() - 1; a >= 0; a--) open.get(a).close();
                }
                if (conv.hasInput(2)) src.line("acc += (%s)%s;", acc, CTypes.load(t, fb.in(conv.input(2)) + "[m]"));
                fb.emitEpilogue(src, "acc", "idx");
            }
        }
        long blocks = Math.min(Index.ceilDiv(total, THREADS), 1L << 20);
        return List.of(new KernelSpec(entry, src.toString(), entry, KernelSpec.Dim3.of(blocks), KernelSpec.Dim3.of(THREADS), 0,
                fb.params(), fb.origins()));
    }

    /**
     * The direct kernel of an NhwcConv group (one thread per run of output channels, no tiling), whatever its
     * group count: an independent reference for benchmarks that check the engine's kernels on the GPU.
     */
    public static KernelSpec directNhwc(Node node, String entry) {
        FusedBody fb = FusedBody.of(node, MAIN_OPS);
        if (!fb.main().op().equals("NhwcConv")) throw new IllegalArgumentException("not an NhwcConv group: " + fb.main().op());
        return ChannelsLastConv.emitDirect(fb, entry);
    }

    /**
     * The implicit GEMM of a conv that runs on the contraction engine (2-D, one group, f16/bf16/f32; NCHW Conv or
     * NhwcConv), else null (direct and depthwise kernels, which have no variants).
     */
    static GemmProblem engineProblem(FusedBody fb, CodegenOptions options) {
        Node conv = fb.main();
        DType t = conv.input(0).dtype();
        if (t != DType.F16 && t != DType.BF16 && t != DType.F32) return null;
        if (Index.numel(conv.output(0).shape().sizes()) == 0) return null;
        if (conv.op().equals("NhwcConv")) return ChannelsLastConv.onEngine(conv) ? ChannelsLastConv.gemmProblem(fb, options) : null;
        long[] x = conv.input(0).shape().sizes(), w = conv.input(1).shape().sizes(), y = conv.output(0).shape().sizes();
        if (!conv.op().equals("Conv") || x.length != 4 || w.length != 4 || y.length != 4 || conv.attrInt("group", 1) != 1) return null;
        Window win = Window.forward(conv, new long[] {x[2], x[3]}, new long[] {y[2], y[3]}, new long[] {w[2], w[3]});
        ConvOperand a = new ConvOperand(fb.in(conv.input(0)), t, x[0], x[1], x[2], x[3], y[2], y[3], w[2], w[3],
                win.strides()[0], win.strides()[1], win.padBegin()[0], win.padBegin()[1], win.padEnd()[0], win.padEnd()[1],
                win.dilations()[0], win.dilations()[1]);
        StridedOperand b = new StridedOperand(fb.in(conv.input(1)), t, 0, new long[0], new long[0], y[1], a.kSize(), a.kSize(), 1);
        return GemmProblem.of(a.mnSize(), y[1], a.kSize(), new long[0], a, b, options);
    }

    /** The GEMM, the window and layout, and the epilogue's ops: what decides the best config. */
    @Override public String problemKey(Node node, Graph graph, CodegenContext context) {
        FusedBody fb = FusedBody.of(node, MAIN_OPS);
        return key(fb, engineProblem(fb, context.options()));
    }

    private static String key(FusedBody fb, GemmProblem p) {
        Node conv = fb.main();
        List<String> ops = new ArrayList<>();
        for (Node e : fb.epilogue()) ops.add(e.op());
        StringBuilder k = new StringBuilder("conv ").append(conv.op()).append(' ').append(conv.input(0).type()).append(" * ")
                .append(conv.input(1).type()).append(" -> ").append(conv.output(0).type()).append(' ').append(conv.attrs());
        if (p != null) k.append(" gemm ").append(p).append(p.asyncA() ? "" : " A-unaligned").append(p.asyncB() ? "" : " B-unaligned");
        if (conv.hasInput(2)) k.append(" bias");
        if (!ops.isEmpty()) k.append(" + ").append(String.join(",", ops));
        if (fb.hasStoreView()) k.append(" store-view");
        return k.toString();
    }

    /** {@link ConvTuning}'s candidates for engine convs; none otherwise. */
    @Override public List<String> candidates(Node node, Graph graph, CodegenContext context) {
        GemmProblem p = engineProblem(FusedBody.of(node, MAIN_OPS), context.options());
        if (p == null || p.m() == 0 || p.n() == 0) return List.of();
        return ConvTuning.candidates(p, CANDIDATES).stream().map(GemmConfig::label).toList();
    }

    /** {@link GemmHeuristic#cost} of the variant's config; NaN off the contraction engine or for a label that does not fit. */
    @Override public double estimate(Node node, Graph graph, CodegenContext context, String variant) {
        GemmProblem p = engineProblem(FusedBody.of(node, MAIN_OPS), context.options());
        GemmConfig c = p == null ? null : GemmConfig.tuned(variant, p);
        return c == null ? Double.NaN : GemmHeuristic.cost(p, c);
    }

    /** The implicit GEMM this node computes, or null when it runs on a direct or depthwise kernel. */
    public static GemmProblem problem(Node node, CodegenOptions options) {
        return engineProblem(FusedBody.of(node, MAIN_OPS), options);
    }

    /**
     * Implicit GEMM (NCHW): M = output pixels (N x OH x OW), N = output channels, K = C x KH x KW. A is the input
     * read through a {@link ConvOperand} (zero in the padding), B the weights [Cout, K] (k-contiguous); the bias
     * is added to the accumulator, then the fused epilogue runs and stores NCHW (or through a store view).
     */
    private static KernelSpec emitGemm(FusedBody fb, Node conv, Window win, long[] y, DType t, GemmProblem p, GemmConfig config, String entry) {
        long n = y[1], hw = y[2] * y[3];
        GemmConfig c = config != null ? config : ConvTuning.choose(p);
        String bias = conv.hasInput(2) ? CTypes.load(t, fb.in(conv.input(2)) + "[%s]") : null;
        return fb.gemmKernel(p, c, conv.op() + " " + conv.input(0).type() + " * " + conv.input(1).type() + " -> " + conv.output(0).type()
                + ", implicit GEMM " + c.label(), entry, (s, acc, bz, row, col) -> {
            // row = (image, pixel), col = output channel: NCHW index
            s.line("const long long idx = (%s / %dLL) * %dLL + %s * %dLL + %s %% %dLL;", row, hw, n * hw, col, hw, row, hw);
            if (bias == null) fb.emitEpilogue(s, acc, "idx");
            else {
                s.line("const float withBias = %s + %s;", acc, String.format(bias, col));
                fb.emitEpilogue(s, "withBias", "idx");
            }
        });
    }
}
