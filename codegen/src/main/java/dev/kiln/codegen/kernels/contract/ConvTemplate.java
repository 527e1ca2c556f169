package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CudaSource;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.KernelTemplate;
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
 * dilations, pads, auto_pad resolved from the static shapes) and its elementwise epilogue. Direct convolution:
 * one thread per output element (grid-stride), looping over the group's input channels and the kernel taps,
 * exact FMA in fp32 (f16/bf16 accumulate in fp32, f64 in double); the bias is added after the sum, then the
 * epilogue runs on the accumulator before the store. No implicit-GEMM tiling yet.
 */
public final class ConvTemplate implements KernelTemplate {
    static final int THREADS = 256;

    @Override public String name() { return "conv"; }

    @Override public boolean accepts(Node node, Graph graph) { return FusedBody.isKind(node, "conv"); }

    @Override public List<KernelSpec> emit(Node node, Graph graph, CodegenContext context) {
        FusedBody fb = FusedBody.of(node, Set.of("Conv", "ConvTranspose"));
        Node conv = fb.main();
        boolean transposed = conv.op().equals("ConvTranspose");
        DType t = conv.input(0).dtype();
        if (!t.isFloat() || t.bits() < 16 || t.bits() > 64)
            throw node.error(new UnsupportedException(conv.op() + " on " + t + " has no GPU kernel yet"));
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
        String entry = context.kernelName(name());
        if (total == 0) return List.of();

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
}
