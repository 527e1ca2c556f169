package dev.kiln.codegen.kernels.ew;

import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.NvccPtx;
import dev.kiln.codegen.kernels.HostKernel;
import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.UnsupportedException;
import dev.kiln.ir.ref.Interpreter;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.kiln.codegen.kernels.ew.Groups.*;
import static org.junit.jupiter.api.Assertions.*;

class CumSumKernelTest {
    final CumSumKernel tpl = new CumSumKernel();
    final CodegenContext ctx = new CodegenContext(CodegenOptions.defaults());

    static Graph cumsum(DType d, long axis, boolean exclusive, boolean reverse, long... shape) {
        Map<String, Attr> attrs = new HashMap<>();
        if (exclusive) attrs.put("exclusive", Attr.of(1L));
        if (reverse) attrs.put("reverse", Attr.of(1L));
        return single("CumSum", attrs, List.of(t(d, shape), Tensor.scalarLong(DType.I32, axis)));
    }

    KernelSpec emit(Graph g) {
        assertTrue(tpl.accepts(last(g), g));
        return tpl.emit(last(g), g, ctx).get(0);
    }

    static Tensor data(DType d, long... shape) {
        int n = 1;
        for (long s : shape) n *= (int) s;
        long[] v = new long[n];
        for (int i = 0; i < n; i++) v[i] = (i * 7L) % 11 - 5;
        return Tensor.ofLongs(d, shape, v);
    }

    @Test void workedOutExample() throws Exception {
        // ONNX's example: [1, 2, 3, 4, 5] -> exclusive reverse: [14, 12, 9, 5, 0]
        Graph g = cumsum(DType.F64, 0, true, true, 5);
        KernelSpec k = emit(g);
        Tensor x = Tensor.ofDoubles(DType.F64, new long[] {5}, new double[] {1, 2, 3, 4, 5});
        List<double[]> out = HostKernel.run(k.source(), k.entry(), List.of(HostKernel.Buf.in(x),
                HostKernel.Buf.in(Tensor.scalarLong(DType.I32, 0)), HostKernel.Buf.out(DType.F64, 5)));
        assertArrayEquals(new double[] {14, 12, 9, 5, 0}, out.get(0));
    }

    @Test void everyAxisModeAndDtypeMatchesTheInterpreter() throws Exception {
        List<String> srcs = new ArrayList<>();
        long[] shape = {2, 3, 4};
        for (DType d : List.of(DType.F32, DType.F64, DType.I32, DType.I64))
            for (long axis : new long[] {0, 1, 2, -1})
                for (boolean ex : new boolean[] {false, true})
                    for (boolean rev : new boolean[] {false, true}) {
                        Graph g = cumsum(d, axis, ex, rev, shape);
                        KernelSpec k = emit(g);
                        srcs.add(k.source());
                        Tensor x = data(d, shape);
                        Tensor expect = Interpreter.run(g, List.of(x)).get(0);
                        List<double[]> got = HostKernel.run(k.source(), k.entry(), List.of(HostKernel.Buf.in(x),
                                HostKernel.Buf.in(Tensor.scalarLong(DType.I32, axis)), HostKernel.Buf.out(d, 24)));
                        // sums of small integers: exact in every dtype, so no tolerance
                        assertArrayEquals(expect.toDoubles(), got.get(0), 0, d + " axis " + axis + " ex " + ex + " rev " + rev);
                    }
        srcs.add(emit(cumsum(DType.F16, 1, false, false, 4, 5)).source());
        NvccPtx.compileAll(srcs);
    }

    @Test void launchCoversEveryRowOnce() {
        KernelSpec k = emit(cumsum(DType.F32, 1, false, false, 300, 7, 2));
        assertEquals(128, k.block().x());
        assertEquals(5, k.grid().x());   // 600 rows of 7
        assertTrue(k.source().contains("r < 600"), k.source());
    }

    @Test void axisThatIsNotAConstantIsRejected() {
        Graph g = single("CumSum", Map.of(), List.of(t(DType.F32, 4), t(DType.I32)));
        assertThrows(UnsupportedException.class, () -> emit(g));
    }
}
