package dev.kiln;

import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.runtime.Cuda;
import dev.kiln.runtime.Device;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The contraction engine on the GPU against the reference interpreter, one case per path the heuristic takes
 * for model-like shapes (docs/gemm.md): split-K tensor-core tiles (BERT's FFN down-projection), M = 1, odd
 * sizes staged through registers, a batched attention-like product, an odd N (register-staged B), exact
 * fp32 on CUDA cores, the fp32 skinny path. Inputs are multiples of 1/4, so products are exact and only the
 * final rounding differs: f16 4e-3, f32 1e-5 (relative, plus the same absolute). Skips without a GPU.
 */
@Tag("gpu")
class MatMulGpuTest {
    @BeforeAll static void gpu() { assumeTrue(Cuda.available(), () -> "no GPU: " + Cuda.unavailableReason()); }

    static long[] dims(String s) { return Arrays.stream(s.trim().split("x")).mapToLong(Long::parseLong).toArray(); }

    @ParameterizedTest(name = "{0} {1} x {2} (gelu {3}): {4}")
    @CsvSource({
            "f16, 128x3072, 3072x768, true, mma|wgmma_tma_t",
            "f16, 1x2048, 2048x1000, false, ''",
            "f16, 17x5, 5x7, false, mma",
            "f16, 2x12x64x32, 2x12x32x64, false, mma",
            "f16, 16x256, 256x1001, true, ''",
            "f32, 128x768, 768x768, true, simt",
            "f32, 1x512, 512x300, false, skinny",
            "bf16, 145x1024, 1024x1024, false, mma|wgmma_tma_t",
    })
    void matchesTheInterpreter(String dt, String a, String b, boolean gelu, String path) {
        DType t = DType.fromText(dt);
        GraphBuilder g = new GraphBuilder("mm");
        Value x = g.input("x", TensorType.of(t, dims(a))), w = g.input("w", TensorType.of(t, dims(b)));
        Value y = g.op("MatMul", x, w);
        long n = dims(b)[dims(b).length - 1];
        if (gelu) y = g.op("Gelu", g.op("Add", y, g.input("bias", TensorType.of(t, n))));
        Graph graph = g.output(y).build();
        // the heuristic's choice, not a tuned one (which may be any candidate); "mma|wgmma": mma.sync before sm_90, the
        // small-M transposed TMA loop (DenseSmallM) on an H100/H200
        if (path.contains("|")) path = Device.get(0).arch().equals("sm_90") ? path.split("\\|")[1] : path.split("\\|")[0];
        try (CompiledModel m = Kiln.compile(graph, CompileOptions.defaults().withTune(CompileOptions.Tune.NONE))) {
            String src = m.plan().kernels().stream().map(k -> k.source()).filter(s -> s.contains("// GEMM")).findFirst().orElse("");
            assertTrue(src.contains(path.isEmpty() ? "config " : "config " + path + " "), "engine kernel on the " + path + " path: " + src.lines().filter(l -> l.startsWith("// GEMM")).toList());
            Random r = new Random(a.hashCode() * 31L + b.hashCode());
            List<Tensor> in = new ArrayList<>();
            for (Value v : m.graph().inputs()) {
                double[] d = new double[(int) v.shape().numel()];
                for (int i = 0; i < d.length; i++) d[i] = (r.nextInt(9) - 4) / 4.0;
                in.add(Tensor.ofDoubles(v.dtype(), v.shape().sizes(), d));
            }
            Tensor want = m.runReference(in).get(0), got = m.run(in).get(0);
            double tol = t == DType.F32 ? 1e-5 : t == DType.BF16 ? 3e-2 : 4e-3;
            assertEquals(want.type(), got.type());
            for (int i = 0; i < want.numel(); i++)
                assertEquals(want.getDouble(i), got.getDouble(i), tol * (1 + Math.abs(want.getDouble(i))), "element " + i);
        }
    }
}
