package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.kernels.gemm.GemmConfig;
import dev.kiln.ir.DType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static dev.kiln.codegen.kernels.contract.NhwcConvSimTest.body;
import static dev.kiln.codegen.kernels.contract.NhwcConvSimTest.dims;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Channels-last convs (C a multiple of 8) on the Hopper wgmma path: the {@code NhwcConvOperand} feeds the
 * swizzled cp.async tiles, run on the CPU simulator against the reference interpreter
 * ({@link NhwcConvSimTest#check}): strides, padding, dilation, ragged M and K, N = 64 tiles, the padded
 * ResNet stem (C = 8, 7x7, stride 2) and split-K.
 */
class WgmmaConvSimTest {
    @ParameterizedTest(name = "{0} x {1} w {2} s{3} p{4} d{5} {6} with {7}")
    @CsvSource({
            "f16, 2x9x11x16, 64x3x3x16, 2, 1, 1, relu, wgmma 128x64x64 w4x1 s4 k1",
            "f16, 2x12x12x16, 64x3x3x16, 1, 1, 1, add, wgmma 256x64x64 w8x1 s4 k1",
            "bf16, 1x12x10x24, 64x3x3x24, 1, 2, 2, none, wgmma 128x64x64 w4x1 s3 k1",
            "f16, 1x23x23x8, 64x7x7x8, 2, 3, 1, relu, wgmma 128x64x64 w4x1 s4 k1",
            "f16, 1x8x8x64, 128x3x3x64, 1, 1, 1, add, wgmma 128x128x64 w4x1 s3 k3",
            "f16, 1x10x10x32, 192x3x3x32, 2, 0, 1, relu, wgmma 256x128x64 w8x1 s4 k2",
            "f16, 2x6x6x64, 64x1x1x64, 1, 0, 1, relu, wgmma 128x64x64 w4x1 s4 k1",
    })
    void matchesTheInterpreter(String dt, String x, String w, long stride, long pad, long dil, String epi, String label) {
        KernelSpec k = NhwcConvSimTest.check(body(DType.fromText(dt), dims(x), dims(w), stride, pad, dil, 1, epi, true), GemmConfig.parse(label));
        assertTrue(k.source().contains("wgmma.mma_async"), "ran the wgmma path");
    }
}
