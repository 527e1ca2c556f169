package dev.kiln.codegen.kernels.ew;

import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.NvccPtx;
import dev.kiln.codegen.kernels.HostKernel;
import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.UnsupportedException;
import dev.kiln.ir.Value;
import dev.kiln.ir.ref.Interpreter;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.kiln.codegen.kernels.ew.Groups.*;
import static org.junit.jupiter.api.Assertions.*;

class TopKKernelTest {
    final TopKKernel tpl = new TopKKernel();
    final CodegenContext ctx = new CodegenContext(CodegenOptions.defaults());

    /** x -> TopK(x, k) with both outputs as graph outputs. */
    static Graph topk(DType d, long k, long axis, boolean largest, long... shape) {
        GraphBuilder g = new GraphBuilder("topk");
        Value x = g.input("x", t(d, shape));
        Map<String, Attr> attrs = new HashMap<>();
        attrs.put("axis", Attr.of(axis));
        if (!largest) attrs.put("largest", Attr.of(0L));
        List<Value> outs = g.node("TopK", List.of(x, g.constant("k", Tensor.vector(k))), attrs, null, "topk_0");
        outs.forEach(g::output);
        return g.build();
    }

    KernelSpec emit(Graph g) {
        assertTrue(tpl.accepts(last(g), g));
        return tpl.emit(last(g), g, ctx).get(0);
    }

    /** Printed in place of a NaN output by {@link #host} (the harness parses numbers only). */
    static final double NAN_OUT = -12345, INF_OUT = 12345;

    /**
     * Host run: params are x, k, values, indices. The host source maps Java's NaN/Infinity spellings to C and
     * prints NaN outputs as {@link #NAN_OUT}, +-inf as +-{@link #INF_OUT}.
     */
    static List<double[]> host(KernelSpec k, Tensor x, long kv, long outNumel) throws Exception {
        String src = k.source() + "\n#define NaN NAN\n#define Infinity INFINITY\n"
                + "static void kiln_print(const char* f) { std::printf(\"%s\", f); }\n"
                + "static void kiln_print(const char* f, double v) { std::printf(f, v != v ? " + NAN_OUT + " : v > 1e308 ? " + INF_OUT + " : v < -1e308 ? -" + INF_OUT + " : v); }\n"
                + "#define printf(...) kiln_print(__VA_ARGS__)\n";
        return HostKernel.run(src, k.entry(), List.of(HostKernel.Buf.in(x), HostKernel.Buf.in(Tensor.vector(kv)),
                HostKernel.Buf.out(x.dtype(), outNumel), HostKernel.Buf.out(DType.I64, outNumel)));
    }

    @Test void workedOutExampleWithTies() throws Exception {
        // row [3, 1, 3, 2, 5, 1]: largest 4 -> 5@4, 3@0, 3@2 (tie: lower index first), 2@3; smallest 3 -> 1@1, 1@5, 2@3
        Tensor x = Tensor.ofDoubles(DType.F32, new long[] {6}, new double[] {3, 1, 3, 2, 5, 1});
        List<double[]> big = host(emit(topk(DType.F32, 4, 0, true, 6)), x, 4, 4);
        assertArrayEquals(new double[] {5, 3, 3, 2}, big.get(0));
        assertArrayEquals(new double[] {4, 0, 2, 3}, big.get(1));
        List<double[]> small = host(emit(topk(DType.F32, 3, -1, false, 6)), x, 3, 3);
        assertArrayEquals(new double[] {1, 1, 2}, small.get(0));
        assertArrayEquals(new double[] {1, 5, 3}, small.get(1));
    }

    @Test void nanCountsAboveEveryNumber() throws Exception {
        double nan = Double.NaN, inf = Double.POSITIVE_INFINITY;
        Tensor x = Tensor.ofDoubles(DType.F64, new long[] {5}, new double[] {1, nan, inf, nan, -inf});
        List<double[]> big = host(emit(topk(DType.F64, 3, 0, true, 5)), x, 3, 3);
        assertArrayEquals(new double[] {1, 3, 2}, big.get(1));   // NaN@1, NaN@3, inf@2
        assertArrayEquals(new double[] {NAN_OUT, NAN_OUT, INF_OUT}, big.get(0));
        List<double[]> small = host(emit(topk(DType.F64, 5, 0, false, 5)), x, 5, 5);
        assertArrayEquals(new double[] {4, 0, 2, 1, 3}, small.get(1));
    }

    static Tensor data(DType d, long... shape) {
        int n = 1;
        for (long s : shape) n *= (int) s;
        long[] v = new long[n];
        // few distinct values, so rows have ties; u64 gets values above 2^63 to check unsigned order
        for (int i = 0; i < n; i++) v[i] = d == DType.U64 && i % 5 == 0 ? -3L - i : (i * 7L) % 11 - (d == DType.U64 ? 0 : 5);
        return d.isFloat() ? Tensor.ofDoubles(d, shape, java.util.Arrays.stream(v).mapToDouble(l -> l * 0.5).toArray())
                : Tensor.ofLongs(d, shape, v);
    }

    @Test void everyAxisKDirectionAndDtypeMatchesTheInterpreter() throws Exception {
        List<String> srcs = new ArrayList<>();
        long[] shape = {3, 5, 4};
        int cases = 0;
        for (DType d : List.of(DType.F32, DType.F64, DType.I32, DType.I64, DType.U64))
            for (long axis : new long[] {0, 1, 2, -1})
                for (boolean largest : new boolean[] {true, false}) {
                    int a = (int) (axis < 0 ? axis + 3 : axis);
                    for (long k : new long[] {1, shape[a] - 1, shape[a]}) {
                        Graph g = topk(d, k, axis, largest, shape);
                        KernelSpec ks = emit(g);
                        if (k == 1) srcs.add(ks.source());
                        Tensor x = data(d, shape);
                        List<Tensor> expect = Interpreter.run(g, List.of(x));
                        long outN = expect.get(0).numel();
                        List<double[]> got = host(ks, x, k, outN);
                        String what = d + " axis " + axis + " k " + k + (largest ? " largest" : " smallest");
                        // values are copied, never computed: exact in every dtype
                        assertArrayEquals(expect.get(0).toDoubles(), got.get(0), 0, what);
                        assertArrayEquals(expect.get(1).toDoubles(), got.get(1), 0, what);
                        cases++;
                    }
                }
        assertEquals(120, cases);
        srcs.add(emit(topk(DType.F16, 2, 1, true, 4, 5)).source());
        srcs.add(emit(topk(DType.BF16, 2, 1, false, 4, 5)).source());
        NvccPtx.compileAll(srcs);
    }

    @Test void longRowOfDistinctValuesSortsFully() throws Exception {
        // 300 values, a permutation of 0..299; k = 300 smallest gives 0..299 and the inverse permutation
        int n = 300;
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = (i * 137L) % n;
        Tensor x = Tensor.ofDoubles(DType.F32, new long[] {n}, v);
        List<double[]> got = host(emit(topk(DType.F32, n, 0, false, n)), x, n, n);
        for (int r = 0; r < n; r++) {
            assertEquals(r, got.get(0)[r]);
            assertEquals(r, v[(int) got.get(1)[r]]);
        }
    }

    @Test void launchCoversEveryElement() {
        KernelSpec k = emit(topk(DType.F32, 3, 1, true, 100, 7, 2));
        assertEquals(256, k.block().x());
        assertEquals(6, k.grid().x());   // 1400 elements
        assertTrue(k.source().contains("i < 1400"), k.source());
        assertEquals(4, k.params().size());
    }

    @Test void kThatIsNotAConstantIsRejected() {
        Graph g = single("TopK", Map.of(), List.of(t(DType.F32, 4), t(DType.I64, 1)));
        assertThrows(UnsupportedException.class, () -> emit(g));
    }
}
