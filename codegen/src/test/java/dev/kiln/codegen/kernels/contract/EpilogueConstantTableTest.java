package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.kernels.HostKernel;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.ir.ref.Interpreter;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Non-scalar constants inside contraction epilogues: baked as file-scope tables, read with broadcast indexing. */
class EpilogueConstantTableTest {

    static Tensor seq(DType d, long[] shape, double scale, double shift) {
        int n = 1;
        for (long s : shape) n *= (int) s;
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = ((i * 7) % 11) * scale + shift;
        return Tensor.ofDoubles(d, shape, v);
    }

    @Test void matmulBiasAndScaleTablesCompile() {
        for (DType dt : new DType[] {DType.F32, DType.F16}) {
            GraphBuilder g = new GraphBuilder("body");
            Value x = g.input("a", TensorType.of(dt, 2, 45, 19)), w = g.input("b", TensorType.of(dt, 19, 70));
            Value bias = g.constant("bias", seq(dt, new long[] {70}, 0.5, -2));
            Value scale = g.constant("scale", seq(dt, new long[] {2, 1, 70}, 0.25, 1));
            g.output(g.op("Mul", g.op("Add", g.op("MatMul", x, w), bias), scale));
            KernelSpec k = Fixtures.emit(new MatMulTemplate(), Fixtures.outer("matmul", "mm,add,mul", g.build()));
            assertTrue(k.source().contains("static __device__ const float ec0[70] = {"), k.source());
            assertTrue(k.source().contains("static __device__ const float ec1[140] = {"), k.source());
            // bias [70] at idx % 70, scale [2,1,70] at batch*70 + column (45*70 = 3150 per batch)
            assertTrue(k.source().contains("ec0[((idx) % 70LL)]"), k.source());
            assertTrue(k.source().contains("ec1[((idx) / 3150LL) * 70LL + ((idx) % 70LL)]"), k.source());
            Nvcc.compile(k);
        }
    }

    @Test void convWithPerChannelConstantMatchesTheInterpreter() throws Exception {
        // Conv [1,2,5,5] * [3,2,3,3] -> [1,3,3,3], then + per-channel constant [3,1,1] and * a full constant [1,3,3,3]
        Tensor x = seq(DType.F64, new long[] {1, 2, 5, 5}, 0.5, -1), w = seq(DType.F64, new long[] {3, 2, 3, 3}, 0.25, -0.5);
        Tensor shift = Tensor.ofDoubles(DType.F64, new long[] {3, 1, 1}, new double[] {10, -20, 30});
        Tensor gain = seq(DType.F64, new long[] {1, 3, 3, 3}, 1, -3);
        GraphBuilder g = new GraphBuilder("body");
        Value xi = g.input("x", x.type()), wi = g.input("w", w.type());
        g.output(g.op("Mul", g.op("Add", g.op("Conv", xi, wi), g.constant("shift", shift)), g.constant("gain", gain)));
        Graph body = g.build();
        KernelSpec k = Fixtures.emit(new ConvTemplate(), Fixtures.outer("conv", "conv,add,mul", body));
        assertTrue(k.source().contains("ec0[3] = {10.0, -20.0, 30.0}"), k.source());
        Tensor expect = Interpreter.run(body, List.of(x, w)).get(0);
        List<double[]> got = HostKernel.run(k.source(), k.entry(), List.of(HostKernel.Buf.in(x), HostKernel.Buf.in(w),
                HostKernel.Buf.out(DType.F64, 27)));
        // f64 sums of 18 products of multiples of 1/8: exact up to summation order
        assertArrayEquals(expect.toDoubles(), got.get(0), 1e-9);
        Nvcc.compile(k);
    }
}
