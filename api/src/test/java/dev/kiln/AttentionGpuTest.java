package dev.kiln;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.runtime.Cuda;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Attention compiled by Kiln and run on the GPU against the reference interpreter: the tensor-core kernel
 * (f16, bf16) at tile-boundary shapes with masks, causal, GQA, softcap, and the SIMT kernel (f32). The
 * same forms run on the CPU simulator in codegen's AttentionSimTest; this checks the real hardware.
 */
@Tag("gpu")
class AttentionGpuTest {
    @BeforeAll static void gpu() { assumeTrue(Cuda.available(), () -> "no GPU: " + Cuda.unavailableReason()); }

    @ParameterizedTest(name = "{0} Q{1} K{2} V{3} mask {4} causal {5} softcap {6}")
    @CsvSource(delimiter = '|', value = {
            "f16 | 2x12x128x64 | 2x12x128x64 | 2x12x128x64 | f16:2x1x1x128 | 0 | 0",
            "f16 | 1x16x145x64 | 1x16x145x64 | 1x16x145x64 | | 0 | 0",
            "f16 | 2x8x300x64 | 2x8x300x64 | 2x8x300x64 | | 1 | 0",
            "f16 | 1x8x200x128 | 1x2x333x128 | 1x2x333x128 | bool:200x333 | 1 | 0",
            "bf16 | 1x4x77x96 | 1x4x77x96 | 1x4x77x80 | | 0 | 30",
            "f16 | 1x2x40x256 | 1x2x70x256 | 1x2x70x256 | bool:1x2x40x50 | 0 | 0",
            "f16 | 2x8x600x128 | 2x8x600x128 | 2x8x600x128 | | 1 | 0",
            "f32 | 1x4x100x64 | 1x2x90x64 | 1x2x90x64 | f32:100x90 | 1 | 0",
    })
    void matchesTheReference(String dt, String q, String k, String v, String mask, int causal, double softcap) {
        GraphBuilder g = new GraphBuilder("attention");
        List<Value> in = new ArrayList<>(List.of(g.input("q", type(dt, q)), g.input("k", type(dt, k)), g.input("v", type(dt, v))));
        if (mask != null && !mask.isBlank()) in.add(g.input("mask", type(mask.split(":")[0], mask.split(":")[1])));
        Map<String, Attr> attrs = new HashMap<>();
        if (causal != 0) attrs.put("is_causal", Attr.of(1L));
        if (softcap > 0) attrs.put("softcap", Attr.of(softcap));
        g.output(g.node("Attention", in, attrs, null, "attn").get(0));
        Graph graph = g.build();
        Random r = new Random(3);
        List<Tensor> inputs = new ArrayList<>();
        for (Value x : graph.inputs()) {
            long[] shape = x.type().shape().sizes();
            int n = (int) Tensor.numel(shape);
            if (x.type().dtype().isBool()) {
                boolean[] keep = new boolean[n];
                long last = shape[shape.length - 1];
                for (int i = 0; i < n; i++) keep[i] = (i / last) % 5 != 2 && r.nextDouble() < 0.8; // every 5th row fully masked
                inputs.add(Tensor.ofBools(shape, keep));
                continue;
            }
            double[] d = new double[n];
            boolean isMask = x.name().equals("mask");
            for (int i = 0; i < n; i++) d[i] = isMask ? -4 * r.nextDouble() : (x.name().equals("v") ? 1 : 2) * (2 * r.nextDouble() - 1);
            inputs.add(Tensor.ofDoubles(x.type().dtype(), shape, d));
        }
        try (CompiledModel m = Kiln.compile(graph, CompileOptions.defaults())) {
            Tensor want = m.runReference(inputs).get(0), got = m.run(inputs).get(0);
            double tol = dt.equals("bf16") ? 2.5e-2 : dt.equals("f16") ? 4e-3 : 2e-5, worst = 0;
            for (int i = 0; i < want.numel(); i++) {
                double w = want.getDouble(i), x = got.getDouble(i), err = Math.abs(w - x);
                assertTrue(err <= tol * Math.max(1, Math.abs(w)), "element " + i + ": GPU " + x + ", reference " + w + " (" + m + ")");
                worst = Math.max(worst, err);
            }
            System.out.printf("%s %s: max error %.3g%n", dt, q, worst);
        }
    }

    static TensorType type(String dt, String dims) {
        return TensorType.of(DType.fromText(dt.trim()), Arrays.stream(dims.trim().split("x")).mapToLong(Long::parseLong).toArray());
    }
}
