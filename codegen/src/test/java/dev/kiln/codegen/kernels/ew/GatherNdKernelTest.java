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
import dev.kiln.ir.ref.Interpreter;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.kiln.codegen.kernels.ew.Groups.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * GatherND (the dynamo exporter writes it for BERT's position lookups) on the movement kernel: the kernel's
 * index math run on the host against the interpreter, with batch dims, partial tuples and negative indices.
 */
class GatherNdKernelTest {
    final MovementKernel tpl = new MovementKernel();

    record Case(long[] data, long[] indices, long batchDims, long[] idx) {}

    static List<Case> cases() {
        return List.of(
                new Case(new long[] {4, 5, 3}, new long[] {2, 2}, 0, new long[] {3, 4, -1, 0}),            // full tuples: rows of 3
                new Case(new long[] {4, 5, 3}, new long[] {3, 1}, 0, new long[] {2, -4, 0}),              // one index: [5,3] slabs
                new Case(new long[] {2, 6, 4}, new long[] {2, 3, 1}, 1, new long[] {5, 0, -2, 1, 3, 4}),  // batch_dims 1
                new Case(new long[] {7}, new long[] {1}, 0, new long[] {-7}));                             // a scalar out
    }

    @Test void matchesTheInterpreter() throws Exception {
        for (Case c : cases()) {
            double[] d = new double[(int) Index.numel(c.data())];
            for (int i = 0; i < d.length; i++) d[i] = i * 0.5 - 7;
            Tensor data = Tensor.ofDoubles(DType.F32, c.data(), d), ind = Tensor.ofLongs(DType.I64, c.indices(), c.idx());
            Graph g = single("GatherND", Map.of("batch_dims", Attr.of(c.batchDims())), List.of(t(DType.F32, c.data()), t(DType.I64, c.indices())));
            KernelSpec k = tpl.emit(last(g), g, new CodegenContext(CodegenOptions.defaults())).get(0);
            Tensor want = Interpreter.run(g, List.of(data, ind)).get(0);
            List<double[]> got = HostKernel.run(k.source(), k.entry(), List.of(HostKernel.Buf.in(data), HostKernel.Buf.in(ind),
                    HostKernel.Buf.out(DType.F32, want.numel())));
            assertArrayEquals(want.toDoubles(), got.get(0), 0, "GatherND data " + java.util.Arrays.toString(c.data()) + " indices "
                    + java.util.Arrays.toString(c.indices()) + " batch_dims " + c.batchDims());
        }
    }

    @Test void compilesForTheGpu() {
        List<String> srcs = new ArrayList<>();
        CodegenContext ctx = new CodegenContext(CodegenOptions.defaults()); // one context: distinct entry names
        for (Case c : cases())
            for (DType d : List.of(DType.F16, DType.I64)) {
                Graph g = single("GatherND", Map.of("batch_dims", Attr.of(c.batchDims())), List.of(t(d, c.data()), t(DType.I64, c.indices())));
                srcs.add(tpl.emit(last(g), g, ctx).get(0).source());
            }
        NvccPtx.compileAll(srcs);
    }
}
