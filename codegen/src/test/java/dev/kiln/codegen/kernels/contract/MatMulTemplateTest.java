package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.KernelSpec;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.UnsupportedException;
import dev.kiln.ir.Value;
import dev.kiln.ir.op.OpRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class MatMulTemplateTest {
    private final MatMulTemplate t = new MatMulTemplate();

    static long[] dims(String s) { return Arrays.stream(s.trim().split("x")).mapToLong(Long::parseLong).toArray(); }

    /** MatMul(a, b) followed by Identity (the one elementwise op every build registers). */
    static Graph matmul(DType dt, long[] a, long[] b) {
        GraphBuilder g = new GraphBuilder("body");
        Value x = g.input("a", TensorType.of(dt, a)), w = g.input("b", TensorType.of(dt, b));
        g.output(g.op("Identity", g.op("MatMul", x, w)));
        return Fixtures.outer("matmul", "mm0,id1", g.build());
    }

    /** Every shape gets a kernel on the engine (tensor cores exactly for f16/bf16) that compiles for sm_90. */
    @ParameterizedTest(name = "{0} {1} x {2}")
    @CsvSource({
            "f32, 1x1, 1x1", "f32, 37x53, 53x29", "f32, 64x64, 64x64", "f32, 3x1x17x70, 5x70x33", "f32, 2x130x7, 7x65",
            "f64, 5x7, 7x3", "f16, 100x77, 77x130", "f16, 4x33x16, 1x16x16", "bf16, 2x1x65x31, 3x31x9",
    })
    void emitsCompilingKernels(String dt, String a, String b) {
        Graph outer = matmul(DType.fromText(dt), dims(a), dims(b));
        KernelSpec k = Fixtures.emit(t, outer);
        boolean tc = dt.equals("f16") || dt.equals("bf16");
        // mma.sync, or wgmma (DenseSmallM's small-M default on Hopper: 4x33x16 flattens to M = 132)
        boolean tensorCores = k.source().contains("kiln_mma_" + dt + "(acc") || k.source().contains("kiln_wgmma_commit()");
        assertEquals(tc, tensorCores, "tensor cores exactly for f16/bf16");
        assertTrue(k.block().x() % 32 == 0 && k.block().x() <= 1024);
        Nvcc.compile(k);
    }

    @Test
    void biasReluAndResidualEpilogue() {
        assumeTrue(OpRegistry.standard().contains("Add") && OpRegistry.standard().contains("Relu"), "elementwise ops not registered yet");
        for (DType dt : new DType[] {DType.F32, DType.F16}) {
            GraphBuilder g = new GraphBuilder("body");
            Value x = g.input("a", TensorType.of(dt, 2, 45, 19)), w = g.input("b", TensorType.of(dt, 19, 70));
            Value bias = g.input("bias", TensorType.of(dt, 70)), res = g.input("res", TensorType.of(dt, 2, 1, 70));
            g.output(g.op("Add", g.op("Relu", g.op("Add", g.op("MatMul", x, w), bias)), res));
            Graph outer = Fixtures.outer("matmul", "mm,add,relu,add2", g.build());
            KernelSpec k = Fixtures.emit(t, outer);
            // bias [70] is read at idx % 70, the residual [2,1,70] at batch*70 + column
            assertTrue(k.source().contains("in2[((idx) % 70LL)]"), k.source());
            assertTrue(k.source().contains("in3[((idx) / 3150LL) * 70LL + ((idx) % 70LL)]"), k.source());
            Nvcc.compile(k);
        }
    }

    @Test
    void batchesBeyondTheGridLimitLoop() {
        KernelSpec k = Fixtures.emit(t, matmul(DType.F32, new long[] {70000, 2, 3}, new long[] {70000, 3, 2}));
        assertEquals(65535, k.grid().z());
        assertTrue(k.source().contains("bz += gridDim.z"));
    }

    @Test
    void oneDimensionalOperandsAreUnsupported() {
        Graph outer = matmul(DType.F32, new long[] {4}, new long[] {4, 3});
        UnsupportedException e = assertThrows(UnsupportedException.class, () -> t.emit(Fixtures.fused(outer), outer,
                new dev.kiln.codegen.CodegenContext(dev.kiln.codegen.CodegenOptions.defaults())));
        assertTrue(e.getMessage().contains("1-D"), e.getMessage());
    }
}
