package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.kernels.gemm.GemmConfig;
import dev.kiln.codegen.kernels.gemm.GemmProblem;
import dev.kiln.codegen.sim.SimKernel;
import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.ir.ref.Interpreter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * MatMul Fused bodies end to end on the CPU simulator against the reference interpreter on the same body:
 * the heuristic's kernel (and explicit configs: split-K on and off, the skinny path) for odd and aligned
 * shapes, batches with broadcast, operands read through views (K^T, a head split), a store view (the head
 * merge) and a bias + Gelu + residual epilogue. Inputs are multiples of 1/4 in [-1, 1], so the products are
 * exact; the interpreter rounds to the dtype after every op while the kernel rounds once at the end, so the
 * tolerance (relative, plus the same absolute) allows a few units in the last place: f16 4e-3, bf16 3e-2,
 * f32 1e-5.
 */
class MatMulSimTest {
    static final CodegenOptions OPT = CodegenOptions.defaults();

    static double tol(DType t) { return t == DType.BF16 ? 3e-2 : t == DType.F16 ? 4e-3 : 1e-5; }

    static Tensor quarters(TensorType t, Random r) {
        double[] v = new double[(int) t.shape().numel()];
        for (int i = 0; i < v.length; i++) v[i] = (r.nextInt(9) - 4) / 4.0;
        return Tensor.ofDoubles(t.dtype(), t.shape().sizes(), v);
    }

    /** Runs the body's kernel (heuristic config when null) in the simulator and compares output 0 with the interpreter. */
    static KernelSpec check(Graph outer, GemmConfig config) {
        Node f = Fixtures.fused(outer);
        Graph body = ((Attr.GraphValue) f.attrs().get("body")).value();
        Random r = new Random(body.toString().hashCode());
        List<Tensor> ins = new ArrayList<>();
        Map<String, Tensor> byName = new HashMap<>();
        for (int i = 0; i < body.inputs().size(); i++) {
            Tensor t = quarters(body.inputs().get(i).type(), r);
            ins.add(t);
            byName.put(f.input(i).name(), t);
        }
        Tensor want = Interpreter.run(body, ins).get(0);
        KernelSpec k = new MatMulTemplate().emit(f, OPT, "k0_matmul", config).get(0);
        Value out = f.output(0);
        byte[] got = SimKernel.run(k, byName, Map.of(out.name(), (long) want.storage().length)).get(out.name());
        Tensor g = Tensor.ofBytes(out.dtype(), out.shape().sizes(), got);
        double tol = tol(out.dtype());
        for (int i = 0; i < want.numel(); i++) {
            int at = i;
            assertEquals(want.getDouble(i), g.getDouble(i), tol * (1 + Math.abs(want.getDouble(i))),
                    () -> "element " + at + " of " + out.type() + " with " + k.source().lines().filter(l -> l.startsWith("// GEMM")).findFirst().orElse(""));
        }
        return k;
    }

    static Graph matmul(DType dt, long[] a, long[] b) { return MatMulTemplateTest.matmul(dt, a, b); }

    @ParameterizedTest(name = "{0} {1} x {2}")
    @CsvSource({
            "f16, 17x40, 40x64", "f16, 3x5, 5x7", "f16, 130x300, 300x200", "bf16, 1x40, 40x64", "bf16, 17x1, 1x7",
            "f32, 130x5, 5x1", "f32, 1x300, 300x200", "f32, 17x40, 40x64", "f16, 3x300, 300x1",
    })
    void heuristicKernelMatchesTheInterpreter(String dt, String a, String b) {
        check(matmul(DType.fromText(dt), MatMulTemplateTest.dims(a), MatMulTemplateTest.dims(b)), null);
    }

    @Test void splitKOnAndOffAgree() {
        Graph g = matmul(DType.F16, new long[] {20, 96}, new long[] {96, 48});
        check(g, new GemmConfig(GemmConfig.Path.MMA, 32, 32, 32, 2, 1, 3, 1));
        check(g, new GemmConfig(GemmConfig.Path.MMA, 32, 32, 32, 2, 1, 3, 3));
        Graph f = matmul(DType.F32, new long[] {20, 96}, new long[] {96, 48});
        check(f, new GemmConfig(GemmConfig.Path.SIMT, 32, 64, 16, 2, 1, 2, 4));
    }

    @Test void slicedKAloneAndWithSplitK() {
        // four warp groups each run a quarter of every 64-deep stage; with split-K the last block sums the splits
        Graph g = matmul(DType.F16, new long[] {37, 200}, new long[] {200, 72});
        check(g, new GemmConfig(GemmConfig.Path.MMA, 32, 64, 64, 1, 2, 3, 1, 4));
        check(g, new GemmConfig(GemmConfig.Path.MMA, 32, 64, 64, 1, 2, 3, 2, 2));
        check(matmul(DType.BF16, new long[] {2, 9, 48}, new long[] {2, 48, 20}), new GemmConfig(GemmConfig.Path.MMA, 16, 32, 32, 1, 2, 2, 1, 2));
    }

    @Test void slicedKWithBiasGeluResidual() {
        GraphBuilder g = new GraphBuilder("body");
        Value x = g.input("a", TensorType.of(DType.F16, 17, 96)), w = g.input("b", TensorType.of(DType.F16, 96, 64));
        Value bias = g.input("bias", TensorType.of(DType.F16, 64)), res = g.input("res", TensorType.of(DType.F16, 17, 64));
        g.output(g.op("Add", g.op("Gelu", g.op("Add", g.op("MatMul", x, w), bias)), res));
        check(Fixtures.outer("matmul", "mm,add,gelu,add2", g.build()), new GemmConfig(GemmConfig.Path.MMA, 32, 64, 64, 1, 2, 2, 2, 2));
    }

    @Test void skinnyPathForOneRow() {
        check(matmul(DType.F16, new long[] {1, 72}, new long[] {72, 40}), new GemmConfig(GemmConfig.Path.SKINNY, 16, 64, 16, 1, 2, 1, 2));
    }

    @Test void batchedBroadcastAndFoldedBatches() {
        // B with its own batch: a batched GEMM over [2,3] with A broadcast over the 3 and B over the 2
        Graph g = matmul(DType.F32, new long[] {2, 1, 5, 12}, new long[] {3, 12, 7});
        assertEquals(6, MatMulTemplate.problem(Fixtures.fused(g), OPT).batches());
        check(g, null);
        // B shared by every batch entry: one [3*17, 40] x [40, 24] GEMM
        Graph h = matmul(DType.F16, new long[] {3, 17, 40}, new long[] {40, 24});
        GemmProblem p = MatMulTemplate.problem(Fixtures.fused(h), OPT);
        assertEquals(51, p.m());
        assertEquals(1, p.batches());
        check(h, null);
    }

    @Test void biasGeluResidualEpilogue() {
        for (DType dt : new DType[] {DType.F16, DType.F32}) {
            GraphBuilder g = new GraphBuilder("body");
            Value x = g.input("a", TensorType.of(dt, 17, 40)), w = g.input("b", TensorType.of(dt, 40, 64));
            Value bias = g.input("bias", TensorType.of(dt, 64)), res = g.input("res", TensorType.of(dt, 17, 64));
            g.output(g.op("Add", g.op("Gelu", g.op("Add", g.op("MatMul", x, w), bias)), res));
            check(Fixtures.outer("matmul", "mm,add,gelu,add2", g.build()), null);
        }
    }

    @Test void weightReadTransposedThroughAView() {
        // y = x W^T with W [24, 40]: B is k-contiguous, read with plain ldmatrix
        Value x = FusedBodyViewTest.v("x", "bf16:17x40"), w = FusedBodyViewTest.v("w", "bf16:24x40");
        Value wt = FusedBodyViewTest.v("wt", "bf16:40x24"), y = FusedBodyViewTest.v("y", "bf16:17x24");
        Graph body = new Graph("body", List.of(x, w), List.of(FusedBodyViewTest.transpose(w, wt, "1,0"),
                Node.of("MatMul", List.of(x, wt), List.of(y), Map.of(), "mm")), List.of(y));
        Graph outer = Fixtures.outer("matmul", "t,mm", body);
        assertEquals(dev.kiln.codegen.kernels.gemm.GemmOperand.Major.K, MatMulTemplate.problem(Fixtures.fused(outer), OPT).b().major());
        check(outer, null);
    }

    @Test void headSplitOperandAndHeadMergeStore() {
        // x [2,8,32] split into 2 heads of 16: [2,2,8,16] x w [16,24] -> [2,2,8,24], merged back to [2,8,48]
        Value x = FusedBodyViewTest.v("x", "f16:2x8x32"), w = FusedBodyViewTest.v("w", "f16:16x24");
        Value s1 = FusedBodyViewTest.v("s1", "i64:4"), s2 = FusedBodyViewTest.v("s2", "i64:3");
        Value xr = FusedBodyViewTest.v("xr", "f16:2x8x2x16"), xt = FusedBodyViewTest.v("xt", "f16:2x2x8x16");
        Value y = FusedBodyViewTest.v("y", "f16:2x2x8x24"), yt = FusedBodyViewTest.v("yt", "f16:2x8x2x24"), yr = FusedBodyViewTest.v("yr", "f16:2x8x48");
        Graph body = new Graph("body", List.of(x, w), List.of(
                Node.of("Constant", List.of(), List.of(s1), Map.of("value", Attr.of(Tensor.vector(2, 8, 2, 16))), "c"),
                Node.of("Constant", List.of(), List.of(s2), Map.of("value", Attr.of(Tensor.vector(2, 8, 48))), "c"),
                FusedBodyViewTest.reshape(x, s1, xr), FusedBodyViewTest.transpose(xr, xt, "0,2,1,3"),
                Node.of("MatMul", List.of(xt, w), List.of(y), Map.of(), "mm"),
                FusedBodyViewTest.transpose(y, yt, "0,2,1,3"), FusedBodyViewTest.reshape(yt, s2, yr)), List.of(yr));
        Graph outer = Fixtures.outer("matmul", "r,t,mm,t2,r2", body);
        GemmProblem p = MatMulTemplate.problem(Fixtures.fused(outer), OPT);
        assertTrue(p.asyncA(), "head rows of 16 halves are 16-byte aligned runs: cp.async");
        check(outer, null);
    }
}
