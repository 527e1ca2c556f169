package dev.kiln.codegen.kernels.ew;

import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.NvccPtx;
import dev.kiln.codegen.kernels.HostKernel;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.Value;
import dev.kiln.ir.ref.Interpreter;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.kiln.codegen.kernels.ew.Groups.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * A movement group whose data input is a constant copied into the body (pytorch-converted/test_Embedding: a
 * 10x3 weight table, small enough for grouping to inline): the table is baked into the kernel source.
 */
class GatherConstantTableTest {
    final MovementKernel tpl = new MovementKernel();
    final CodegenContext ctx = new CodegenContext(CodegenOptions.defaults());

    static Tensor weights(DType d) {
        double[] w = new double[30];
        for (int i = 0; i < 30; i++) w[i] = (i * 13 % 30) * 0.25 - 3;   // exact in f16/bf16/f32/f64
        return Tensor.ofDoubles(d, new long[] {10, 3}, w);
    }

    @Test void embeddingLookupMatchesTheInterpreter() throws Exception {
        Tensor w = weights(DType.F32);
        Graph body = body("b", List.of(t(DType.I64, 1, 4)), c -> List.of(c.op("Gather", c.b().constant(w), c.in(0))));
        Graph g = fused("movement", body, "gather_0");
        KernelSpec k = tpl.emit(last(g), g, ctx).get(0);
        assertEquals(List.of(new KernelSpec.Param.Buffer("x_in0"), new KernelSpec.Param.Buffer("y0")), k.params());
        assertTrue(k.source().contains("c_in0[30]"), k.source());

        GraphBuilder rb = new GraphBuilder("ref");
        Value ix = rb.input("ix", t(DType.I64, 1, 4));
        rb.output(rb.op("Gather", rb.constant(w), ix));
        Tensor idx = Tensor.ofLongs(DType.I64, new long[] {1, 4}, new long[] {1, 9, -1, 0});   // -1 wraps to row 9
        Tensor expect = Interpreter.run(rb.build(), List.of(idx)).get(0);
        List<double[]> got = HostKernel.run(k.source(), k.entry(), List.of(HostKernel.Buf.in(idx), HostKernel.Buf.out(DType.F32, 12)));
        // row r of w is (13 * (3r + j) mod 30) / 4 - 3; copied, so exact
        assertEquals(w.getDouble(27), got.get(0)[3]);   // output (0, 1, 0) = w[9, 0]
        assertArrayEquals(expect.toDoubles(), got.get(0), 0);
    }

    @Test void bakedTablesCompileForEveryDataDtypeAndConcat() {
        List<String> srcs = new ArrayList<>();
        for (DType d : List.of(DType.F32, DType.F16, DType.BF16, DType.F64, DType.I32, DType.BOOL)) {
            Tensor w = d == DType.I32 || d == DType.BOOL ? Tensor.ofLongs(d, new long[] {10, 3}, new long[30]) : weights(d);
            Graph body = body("b", List.of(t(DType.I64, 2)), c -> List.of(c.op("Gather", c.b().constant(w), c.in(0))));
            Graph g = fused("movement", body, "gather_" + d);
            srcs.add(tpl.emit(last(g), g, ctx).get(0).source());
        }
        Graph cat = body("c", List.of(t(DType.F16, 2, 3)), c -> List.of(c.op("Concat", java.util.Map.of("axis", dev.kiln.ir.Attr.of(0L)),
                c.in(0), c.b().constant(weights(DType.F16)))));
        Graph g = fused("movement", cat, "concat_0");
        srcs.add(tpl.emit(last(g), g, ctx).get(0).source());
        NvccPtx.compileAll(srcs);
    }
}
