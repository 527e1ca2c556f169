package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.CudaSource;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.ir.DType;
import dev.kiln.ir.Node;
import dev.kiln.ir.UnsupportedException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * NhwcMaxPool and NhwcAveragePool (X {@code [N, D1..Dn, C]} -> {@code [N, O1..On, C]}): one thread per run of v
 * channels of one output pixel, channels fastest, so a warp reads and writes contiguous memory; v elements move
 * as one access of up to 16 bytes (8 f16) when C is a multiple of v. Window semantics as {@link PoolTemplate}:
 * max takes the first tap inside the input and then any larger one (0 for a window wholly in the padding);
 * average divides by the taps inside the input, or with count_include_pad by those inside the explicit padding.
 */
final class ChannelsLastPool {
    private ChannelsLastPool() {}

    static final int THREADS = 256;

    static KernelSpec emit(FusedBody fb, String entry) {
        Node pool = fb.main();
        boolean max = pool.op().equals("NhwcMaxPool");
        DType t = pool.input(0).dtype();
        CTypes.storage(t);
        if (!max && !t.isFloat()) throw fb.fused().error(new UnsupportedException(pool.op() + " on " + t + " has no GPU kernel"));
        long[] x = pool.input(0).shape().sizes(), y = pool.output(0).shape().sizes();
        int r = x.length - 2;
        if (r < 1 || r > 3 || y.length != x.length)
            throw fb.fused().error(new UnsupportedException(pool.op() + " needs 1-D to 3-D spatial input, got " + pool.input(0).shape()));
        long[] kernel = pool.attrInts("kernel_shape");
        if (kernel == null || kernel.length != r) throw fb.fused().error(new UnsupportedException(pool.op() + " needs kernel_shape with " + r + " entries"));
        long c = x[r + 1];
        long[] in = Arrays.copyOfRange(x, 1, r + 1), out = Arrays.copyOfRange(y, 1, r + 1);
        Window win = Window.forward(pool, in, out, kernel);
        boolean includePad = !max && pool.attrInt("count_include_pad", 0) != 0;
        if (fb.body().outputs().size() != 1 || !fb.body().outputs().get(0).name().equals(pool.output(0).name()))
            throw fb.fused().error(new UnsupportedException(pool.op() + " groups store the pool's output only"));
        int v = VecIo.width(t, c);
        long runs = Index.numel(y) / v;
        String acc = max ? CTypes.compute(t) : t == DType.F64 ? "double" : "float", T = CTypes.storage(t);
        CudaSource src = new CudaSource();
        fb.header(src, pool.op() + " " + pool.input(0).type() + " -> " + pool.output(0).type() + ", " + v + " channels per thread");
        src.line("");
        try (var k = src.block(fb.signature(entry, THREADS))) {
            try (var loop = src.block("for (long long q = (long long)blockIdx.x * blockDim.x + threadIdx.x; q < " + runs
                    + "LL; q += (long long)gridDim.x * blockDim.x)")) {
                src.line("const long long c0 = q %% %dLL * %d;", c / v, v);
                src.line("long long rest = q / %dLL;", c / v);
                for (int a = r - 1; a >= 0; a--) src.line("const long long o%d = rest %% %dLL; rest /= %dLL;", a, out[a], out[a]);
                src.line("const %s* xp = %s + rest * %dLL + c0;", T, fb.in(pool.input(0)), Index.numel(in) * c);
                src.line("%s res[%d], val[%d];", acc, v, v);
                src.line("#pragma unroll");
                src.line("for (int e = 0; e < %d; e++) res[e] = 0;", v);
                src.line("long long count = 0;");
                List<CudaSource.Block> open = new ArrayList<>();
                for (int a = 0; a < r; a++) {
                    open.add(src.block("for (long long k" + a + " = 0; k" + a + " < " + kernel[a] + "LL; k" + a + "++)"));
                    src.line("const long long i%d = o%d * %dLL - %dLL + k%d * %dLL;", a, a, win.strides()[a], win.padBegin()[a], a, win.dilations()[a]);
                    if (includePad) src.line("if (i%d >= %dLL) continue;", a, in[a] + win.padEnd()[a]);
                }
                List<String> inside = new ArrayList<>(), offset = new ArrayList<>();
                long stride = c;
                for (int a = r - 1; a >= 0; a--) {
                    inside.add(0, "(unsigned long long)i" + a + " < " + in[a] + "ULL");
                    offset.add(0, "i" + a + " * " + stride + "LL");
                    stride *= in[a];
                }
                if (includePad) src.line("count++;");
                try (var ok = src.block("if (" + String.join(" && ", inside) + ")")) {
                    VecIo.load(src, t, v, "val", acc, "xp + " + String.join(" + ", offset));
                    if (max) {
                        src.line("#pragma unroll");
                        src.line("for (int e = 0; e < %d; e++) if (count == 0 || val[e] > res[e]) res[e] = val[e];", v);
                        src.line("count++;");
                    } else {
                        src.line("#pragma unroll");
                        src.line("for (int e = 0; e < %d; e++) res[e] += val[e];", v);
                        if (!includePad) src.line("count++;");
                    }
                }
                for (int a = open.size() - 1; a >= 0; a--) open.get(a).close();
                if (!max) {
                    src.line("#pragma unroll");
                    src.line("for (int e = 0; e < %d; e++) res[e] = count > 0 ? res[e] / (%s)count : (%s)0;", v, acc, acc);
                }
                List<String> vals = new ArrayList<>();
                for (int e = 0; e < v; e++) vals.add(CTypes.store(t, "res[" + e + "]"));
                VecIo.store(src, t, v, "out0 + q * " + v + "LL", vals);
            }
        }
        long blocks = Math.max(1, Math.min((runs + THREADS - 1) / THREADS, 1L << 20));
        return new KernelSpec(entry, src.toString(), entry, KernelSpec.Dim3.of(blocks), KernelSpec.Dim3.of(THREADS), 0, fb.params(), fb.origins());
    }
}
