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
import dev.kiln.ir.Value;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Fused kind {@code pool}: channels-last pools go to {@link ChannelsLastPool}; otherwise one MaxPool or AveragePool over 1-D to 3-D spatial axes, one thread per output
 * element (grid-stride). The output shape (and so ceil_mode) comes from the static type; windows are clipped to
 * the input. MaxPool's optional Indices output is the row-major flat index into X (storage_order 0) or column-major over the spatial axes (storage_order 1); the
 * first maximum wins. AveragePool divides by the taps inside the input, or with count_include_pad by the taps
 * inside the explicitly padded input (taps beyond it that ceil_mode adds never count).
 */
public final class PoolTemplate implements KernelTemplate {
    static final int THREADS = 256;

    @Override public String name() { return "pool"; }

    @Override public boolean accepts(Node node, Graph graph) { return FusedBody.isKind(node, "pool"); }

    @Override public List<KernelSpec> emit(Node node, Graph graph, CodegenContext context) {
        FusedBody fb = FusedBody.of(node, Set.of("MaxPool", "AveragePool", "NhwcMaxPool", "NhwcAveragePool"));
        Node pool = fb.main();
        if (!fb.epilogue().isEmpty()) throw node.error(new UnsupportedException("pool groups take no epilogue"));
        if (fb.hasStoreView()) throw node.error(new UnsupportedException("pool groups take no store view"));
        if (pool.op().startsWith("Nhwc")) {
            if (Index.numel(pool.output(0).shape().sizes()) == 0) return List.of();
            return List.of(ChannelsLastPool.emit(fb, context.kernelName(name())));
        }
        boolean max = pool.op().equals("MaxPool");
        DType t = pool.input(0).dtype();
        CTypes.storage(t); // rejects dtypes without a GPU path
        if (!max && !t.isFloat()) throw node.error(new UnsupportedException("AveragePool on " + t + " has no GPU kernel"));
        boolean colMajor = max && pool.attrInt("storage_order", 0) != 0;
        long[] x = pool.input(0).shape().sizes(), y = pool.output(0).shape().sizes();
        int r = x.length - 2;
        if (r < 1 || r > 3 || y.length != x.length) throw node.error(new UnsupportedException(pool.op() + " needs 1-D to 3-D spatial input, got " + pool.input(0).shape()));
        long[] kernel = pool.attrInts("kernel_shape");
        if (kernel == null || kernel.length != r) throw node.error(new UnsupportedException(pool.op() + " needs kernel_shape with " + r + " entries"));
        long[] in = Arrays.copyOfRange(x, 2, x.length), out = Arrays.copyOfRange(y, 2, y.length);
        Window win = Window.forward(pool, in, out, kernel);
        boolean includePad = !max && pool.attrInt("count_include_pad", 0) != 0;

        // body output i stores Y (main output 0) or Indices (main output 1)
        List<String> stores = new ArrayList<>();
        for (int i = 0; i < fb.body().outputs().size(); i++) {
            if (node.output(i).isNone()) continue;
            Value o = fb.body().outputs().get(i);
            if (o.name().equals(pool.output(0).name())) stores.add("out" + i + "[idx] = " + CTypes.store(o.dtype(), "res") + ";");
            else if (max && pool.outputs().size() > 1 && o.name().equals(pool.output(1).name())) stores.add("out" + i + "[idx] = best;");
            else throw node.error(new UnsupportedException("pool body output %" + o.name() + " is not an output of the " + pool.op()));
        }
        long total = Index.numel(y);
        String entry = context.kernelName(name());
        if (total == 0) return List.of();

        String acc = max ? CTypes.compute(t) : t == DType.F64 ? "double" : "float";
        CudaSource src = new CudaSource();
        fb.header(src, pool.op() + " " + pool.input(0).type() + " -> " + pool.output(0).type());
        src.line("");
        try (var k = src.block(fb.signature(entry, THREADS))) {
            try (var loop = src.block("for (long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x; idx < "
                    + Index.ll(total) + "; idx += (long long)gridDim.x * blockDim.x)")) {
                String[] names = new String[r + 2];
                names[0] = "n";
                names[1] = "c";
                for (int a = 0; a < r; a++) names[a + 2] = "o" + a;
                Window.decompose(src, "idx", y, names);
                src.line("const long long base = (n * %dLL + c) * %dLL;", x[1], Index.numel(in));
                src.line("const %s* xp = %s + base;", CTypes.storage(t), fb.in(pool.input(0)));
                if (max) src.line("%s res = 0; long long best = -1;", acc);
                else src.line("%s res = 0; long long count = 0;", acc);
                List<CudaSource.Block> open = new ArrayList<>();
                for (int a = 0; a < r; a++) {
                    open.add(src.block("for (long long k" + a + " = 0; k" + a + " < " + Index.ll(kernel[a]) + "; k" + a + "++)"));
                    src.line("const long long i%d = o%d * %dLL - %dLL + k%d * %dLL;", a, a, win.strides()[a], win.padBegin()[a], a, win.dilations()[a]);
                    if (includePad) // taps in the explicit padding count, taps past it (ceil_mode) do not
                        src.line("if (i%d >= %dLL) continue;", a, in[a] + win.padEnd()[a]);
                }
                String inside = insideTest(r, in);
                if (max) {
                    src.line("if (!(%s)) continue;", inside);
                    src.line("const long long at = %s;", Window.offset("i", in));
                    src.line("const %s v = %s;", acc, CTypes.load(t, "xp[at]"));
                    // storage_order 1: Indices count the spatial axes column-major (the first fastest), as ONNX does
                    src.line("if (best < 0 || v > res) { res = v; best = base + %s; }", colMajor ? columnMajorOffset(in) : "at");
                } else if (includePad) {
                    src.line("count++;");
                    src.line("if (%s) res += (%s)%s;", inside, acc, CTypes.load(t, "xp[" + Window.offset("i", in) + "]"));
                } else {
                    src.line("if (!(%s)) continue;", inside);
                    src.line("count++;");
                    src.line("res += (%s)%s;", acc, CTypes.load(t, "xp[" + Window.offset("i", in) + "]"));
                }
                for (int a = open.size() - 1; a >= 0; a--) open.get(a).close();
                if (!max) src.line("res = count > 0 ? res / (%s)count : (%s)0;", acc, acc);
                for (String s : stores) src.line(s);
            }
        }
        long blocks = Math.min(Index.ceilDiv(total, THREADS), 1L << 20);
        return List.of(new KernelSpec(entry, src.toString(), entry, KernelSpec.Dim3.of(blocks), KernelSpec.Dim3.of(THREADS), 0,
                fb.params(), fb.origins()));
    }

    /** {@code i0 + i1 * in[0] + i2 * in[0] * in[1]...}: the spatial offset with the first axis fastest. */
    static String columnMajorOffset(long[] in) {
        List<String> t = new ArrayList<>();
        long stride = 1;
        for (int a = 0; a < in.length; a++) {
            t.add(stride == 1 ? "i" + a : "i" + a + " * " + Index.ll(stride));
            stride *= in[a];
        }
        return "(" + String.join(" + ", t) + ")";
    }

    private static String insideTest(int r, long[] in) {
        List<String> c = new ArrayList<>();
        for (int a = 0; a < r; a++) c.add("i" + a + " >= 0 && i" + a + " < " + Index.ll(in[a]));
        return String.join(" && ", c);
    }
}
