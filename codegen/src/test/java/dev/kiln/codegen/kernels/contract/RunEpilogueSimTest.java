package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.kernels.gemm.GemmConfig;
import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The engine's run epilogue (the tile staged through shared memory, runs of 16 bytes of output per thread, vector
 * loads of contiguous epilogue inputs, one vector store) on the CPU simulator against the reference interpreter,
 * on every main loop (mma.sync, SIMT, wgmma; split-K and sliced-K; staging in several passes) and the NHWC
 * convs; and the per-element stores where the run one does not apply (a head-merge store view, N not a multiple
 * of the run). Each case asserts which of the two the kernel took.
 */
class RunEpilogueSimTest {
    static final String RUN = "run epilogue";

    static GemmConfig mma(int bm, int bn, int bk, int wm, int wn, int stages, int split) {
        return new GemmConfig(GemmConfig.Path.MMA, bm, bn, bk, wm, wn, stages, split);
    }

    /** (x W + bias) -> Gelu -> + residual, of x [batch.., m, k]; {@code rowRes}: the residual is one per row ([m, 1]). */
    static Graph biasGeluResidual(DType dt, long[] a, long n, boolean rowRes) {
        GraphBuilder g = new GraphBuilder("body");
        long[] y = a.clone();
        y[y.length - 1] = n;
        long[] r = y.clone();
        if (rowRes) r[r.length - 1] = 1;
        Value x = g.input("a", TensorType.of(dt, a)), w = g.input("b", TensorType.of(dt, a[a.length - 1], n));
        Value bias = g.input("bias", TensorType.of(dt, n)), res = g.input("res", TensorType.of(dt, r));
        g.output(g.op("Add", g.op("Gelu", g.op("Add", g.op("MatMul", x, w), bias)), res));
        return Fixtures.outer("matmul", "mm,add,gelu,add2", g.build());
    }

    static KernelSpec run(Graph g, GemmConfig c) {
        KernelSpec k = MatMulSimTest.check(g, c);
        assertTrue(k.source().contains(RUN), "takes the run epilogue:\n" + k.source());
        assertTrue(k.source().contains("*reinterpret_cast<uint4*>(out0 + base"), "one 16-byte store per run");
        return k;
    }

    @Test void f16AndF32BiasGeluResidual() {
        for (DType dt : new DType[] {DType.F16, DType.F32}) {
            KernelSpec k = run(biasGeluResidual(dt, new long[] {17, 40}, 64, false), null);
            // bias and residual are contiguous along the run: vector loads of both
            assertTrue(k.source().contains("kiln_r0") && k.source().contains("kiln_r1"), "vector loads of the epilogue inputs");
        }
        run(biasGeluResidual(DType.F16, new long[] {130, 64}, 200, false), mma(64, 64, 32, 2, 2, 3, 1));
        run(biasGeluResidual(DType.F32, new long[] {130, 40}, 72, false), new GemmConfig(GemmConfig.Path.SIMT, 64, 64, 16, 2, 2, 2, 1));
    }

    @Test void raggedEdgesAndAPerRowResidual() {
        // M and N both cut through the last tile; the residual [m, 1] is one read for each whole run
        run(biasGeluResidual(DType.F16, new long[] {77, 48}, 136, true), mma(64, 64, 32, 2, 2, 3, 1));
        run(biasGeluResidual(DType.BF16, new long[] {33, 32}, 24, false), mma(32, 32, 32, 2, 1, 3, 1));
    }

    @Test void splitKSlicedKAndSimt() {
        Graph g = biasGeluResidual(DType.F16, new long[] {20, 96}, 48, false);
        run(g, mma(32, 32, 32, 2, 1, 3, 3));
        run(g, new GemmConfig(GemmConfig.Path.MMA, 32, 64, 64, 1, 2, 3, 2, 2));
        run(biasGeluResidual(DType.F32, new long[] {37, 96}, 52, false), new GemmConfig(GemmConfig.Path.SIMT, 32, 64, 16, 2, 1, 2, 4));
    }

    @Test void stagingInSeveralPasses() {
        // 128x128 accumulators (64 KB) do not fit two stages of 128x16 tiles: the tile goes through in passes
        KernelSpec k = run(biasGeluResidual(DType.F16, new long[] {200, 64}, 256, false), mma(128, 128, 16, 2, 2, 2, 1));
        assertTrue(k.source().contains("passes of"), "several passes:\n" + k.source().lines().filter(l -> l.contains(RUN)).toList());
    }

    @Test void batchedMatMul() {
        // B with its own batch dims: a batched GEMM (6 entries), the output index moves by M*N per entry
        run(biasGeluResidual(DType.F16, new long[] {2, 3, 9, 32}, 16, false), null);
        GraphBuilder g = new GraphBuilder("body");
        Value x = g.input("a", TensorType.of(DType.F32, 2, 1, 5, 12)), w = g.input("b", TensorType.of(DType.F32, 3, 12, 8));
        Value res = g.input("res", TensorType.of(DType.F32, 2, 3, 5, 8));
        g.output(g.op("Relu", g.op("Add", g.op("MatMul", x, w), res)));
        run(Fixtures.outer("matmul", "mm,add,relu", g.build()), new GemmConfig(GemmConfig.Path.SIMT, 32, 64, 16, 2, 1, 2, 1));
    }

    @Test void f16MatMulCastToF32() {
        // the output is f32 (runs of 4), the f16 residual is read 8 bytes at a time
        GraphBuilder g = new GraphBuilder("body");
        Value x = g.input("a", TensorType.of(DType.F16, 19, 40)), w = g.input("b", TensorType.of(DType.F16, 40, 36));
        Value res = g.input("res", TensorType.of(DType.F16, 19, 36));
        g.output(g.op("Cast", Map.of("to", Attr.of(DType.F32.onnxCode())), g.op("Add", g.op("MatMul", x, w), res)));
        KernelSpec k = run(Fixtures.outer("matmul", "mm,add,cast", g.build()), null);
        assertTrue(k.source().contains("uint2"), "8-byte loads of 4 halves");
    }

    @Test void wgmmaFragment() {
        run(WgmmaEpilogueSimTest.biasGeluResidual(DType.F16, 130, 136, 200), WgmmaEpilogueSimTest.wgmma(128, 128, 8, 3, 1));
        run(WgmmaEpilogueSimTest.biasGeluResidual(DType.BF16, 70, 200, 136), WgmmaEpilogueSimTest.wgmma(128, 256, 8, 4, 2));
    }

    @Test void fallsBackToElementStores() {
        // N = 60 is not a multiple of 8 halves
        KernelSpec odd = MatMulSimTest.check(biasGeluResidual(DType.F16, new long[] {17, 40}, 60, false), null);
        assertFalse(odd.source().contains(RUN), "N % 8 != 0: element stores");
        // the head merge writes through a store view that is not contiguous along the GEMM's columns everywhere
        Graph outer = headMerge();
        KernelSpec merged = MatMulSimTest.check(outer, null);
        assertFalse(merged.source().contains(RUN), "a store view: element stores");
    }

    /** x [2,8,32] as 2 heads of 16, times w [16,24], heads merged back to [2,8,48] (MatMulSimTest's case). */
    static Graph headMerge() {
        Value x = FusedBodyViewTest.v("x", "f16:2x8x32"), w = FusedBodyViewTest.v("w", "f16:16x24");
        Value s1 = FusedBodyViewTest.v("s1", "i64:4"), s2 = FusedBodyViewTest.v("s2", "i64:3");
        Value xr = FusedBodyViewTest.v("xr", "f16:2x8x2x16"), xt = FusedBodyViewTest.v("xt", "f16:2x2x8x16");
        Value y = FusedBodyViewTest.v("y", "f16:2x2x8x24"), yt = FusedBodyViewTest.v("yt", "f16:2x8x2x24"), yr = FusedBodyViewTest.v("yr", "f16:2x8x48");
        Graph body = new Graph("body", List.of(x, w), List.of(
                dev.kiln.ir.Node.of("Constant", List.of(), List.of(s1), Map.of("value", Attr.of(dev.kiln.ir.Tensor.vector(2, 8, 2, 16))), "c"),
                dev.kiln.ir.Node.of("Constant", List.of(), List.of(s2), Map.of("value", Attr.of(dev.kiln.ir.Tensor.vector(2, 8, 48))), "c"),
                FusedBodyViewTest.reshape(x, s1, xr), FusedBodyViewTest.transpose(xr, xt, "0,2,1,3"),
                dev.kiln.ir.Node.of("MatMul", List.of(xt, w), List.of(y), Map.of(), "mm"),
                FusedBodyViewTest.transpose(y, yt, "0,2,1,3"), FusedBodyViewTest.reshape(yt, s2, yr)), List.of(yr));
        return Fixtures.outer("matmul", "r,t,mm,t2,r2", body);
    }

    /** NhwcConv + bias, + residual, Relu. */
    static Graph convResidualRelu(DType t, long[] x, long[] w, long stride, long pad) {
        GraphBuilder g = new GraphBuilder("body");
        Value vx = g.input("x", TensorType.of(t, x)), vw = g.input("w", TensorType.of(t, w)), vb = g.input("b", TensorType.of(t, w[0]));
        Map<String, Attr> attrs = new HashMap<>(Map.of("strides", Attr.ints(stride, stride), "pads", Attr.ints(pad, pad, pad, pad),
                "dilations", Attr.ints(1, 1), "group", Attr.of(1)));
        Value y = g.node("NhwcConv", new ArrayList<>(List.of(vx, vw, vb)), attrs, List.of("y"), "conv").get(0);
        g.output(g.op("Relu", g.op("Add", y, g.input("res", y.type()))));
        return g.build();
    }

    @Test void nhwcConvsWithResidualAndRelu() {
        for (DType t : new DType[] {DType.F16, DType.F32}) {
            KernelSpec one = NhwcConvSimTest.check(convResidualRelu(t, new long[] {2, 7, 9, 16}, new long[] {32, 1, 1, 16}, 1, 0), null);
            assertTrue(one.source().contains("plain GEMM") && one.source().contains(RUN), "1x1: plain GEMM, run epilogue");
            KernelSpec three = NhwcConvSimTest.check(convResidualRelu(t, new long[] {1, 9, 7, 16}, new long[] {24, 3, 3, 16}, 1, 1), null);
            assertTrue(three.source().contains("implicit GEMM") && three.source().contains(RUN), "3x3: implicit GEMM, run epilogue");
        }
        KernelSpec split = NhwcConvSimTest.check(convResidualRelu(DType.F16, new long[] {1, 4, 4, 32}, new long[] {32, 3, 3, 32}, 1, 1),
                mma(32, 32, 32, 2, 1, 3, 3));
        assertTrue(split.source().contains(RUN), "split-K conv");
    }
}
