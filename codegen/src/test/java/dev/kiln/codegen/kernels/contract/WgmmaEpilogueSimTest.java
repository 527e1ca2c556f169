package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.kernels.gemm.GemmConfig;
import dev.kiln.ir.DType;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Fused body's epilogue (bias, Gelu, residual, cast) applied from the wgmma accumulator fragment, on the
 * CPU simulator against the reference interpreter ({@link MatMulSimTest#check}): ragged rows and columns,
 * an n-contiguous and a k-contiguous (transposed-view) weight, with and without split-K.
 */
class WgmmaEpilogueSimTest {
    static GemmConfig wgmma(int bm, int bn, int warps, int stages, int split) {
        return new GemmConfig(GemmConfig.Path.WGMMA, bm, bn, 64, warps, 1, stages, split);
    }

    static dev.kiln.ir.Graph biasGeluResidual(DType dt, long m, long k, long n) {
        GraphBuilder g = new GraphBuilder("body");
        Value x = g.input("a", TensorType.of(dt, m, k)), w = g.input("b", TensorType.of(dt, k, n));
        Value bias = g.input("bias", TensorType.of(dt, n)), res = g.input("res", TensorType.of(dt, m, n));
        g.output(g.op("Add", g.op("Gelu", g.op("Add", g.op("MatMul", x, w), bias)), res));
        return Fixtures.outer("matmul", "mm,add,gelu,add2", g.build());
    }

    @Test void biasGeluResidualFromTheWgmmaFragment() {
        KernelSpec k = MatMulSimTest.check(biasGeluResidual(DType.F16, 130, 136, 200), wgmma(128, 128, 8, 3, 1));
        assertTrue(k.source().contains("wgmma"), "ran the wgmma path");
        MatMulSimTest.check(biasGeluResidual(DType.BF16, 70, 200, 136), wgmma(128, 256, 8, 4, 2));
    }
}
