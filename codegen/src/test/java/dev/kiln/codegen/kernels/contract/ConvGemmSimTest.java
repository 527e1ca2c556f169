package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.NvccPtx;
import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * 2-D convolutions as implicit GEMM on the contraction engine, run on the CPU simulator against the reference
 * interpreter: the ViT patch embedding (kernel = stride, no padding: 16-byte loads), padded, strided and
 * dilated 3x3 convs (per-element loads, zeros in the padding), with a bias and a Relu epilogue. Tolerances as
 * in MatMulSimTest (inputs are quarters, so products are exact).
 */
class ConvGemmSimTest {
    @ParameterizedTest(name = "{0} x {1} w {2} stride {3} pad {4} dilation {5}")
    @CsvSource({
            "f16, 1x3x64x64, 8x3x32x32, 32, 0, 1",
            "f32, 2x5x7x9, 6x5x3x3, 1, 1, 1",
            "f16, 1x4x9x9, 8x4x3x3, 2, 1, 2",
            "bf16, 1x6x6x6, 16x6x1x1, 1, 0, 1",
    })
    void matchesTheInterpreter(String dt, String xs, String ws, long stride, long pad, long dil) {
        DType t = DType.fromText(dt);
        TensorType x = Fixtures.type(dt, xs), w = Fixtures.type(dt, ws);
        long[] xd = x.shape().sizes(), wd = w.shape().sizes();
        long oh = (xd[2] + 2 * pad - dil * (wd[2] - 1) - 1) / stride + 1, ow = (xd[3] + 2 * pad - dil * (wd[3] - 1) - 1) / stride + 1;
        TensorType y = TensorType.of(t, xd[0], wd[0], oh, ow), b = TensorType.of(t, wd[0]);
        Value vx = new Value("x0", x), vw = new Value("x1", w), vb = new Value("x2", b), vy = new Value("y0", y), vr = new Value("e0", y);
        Graph body = new Graph("body", List.of(vx, vw, vb), List.of(
                Node.of("Conv", List.of(vx, vw, vb), List.of(vy), Map.of("strides", Attr.ints(stride, stride),
                        "pads", Attr.ints(pad, pad, pad, pad), "dilations", Attr.ints(dil, dil)), "conv"),
                Node.of("Relu", List.of(vy), List.of(vr), Map.of(), "relu")), List.of(vr));
        KernelSpec k = NhwcConvSimTest.check(body, null); // simulator against the interpreter
        assertTrue(k.source().contains("implicit GEMM"), "takes the engine");
        NvccPtx.compile(k.source());
    }
}
