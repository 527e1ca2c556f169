package dev.kiln;

import dev.kiln.ir.DType;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.Value;
import dev.kiln.runtime.Cuda;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * CompileOptions.precision on examples/tiny_block.onnx (a pre-norm transformer block): FP16/BF16 plans compute in
 * half precision (kernels in __half / __nv_bfloat16), keep an f32 interface, and their results stay within
 * |got - want| <= ATOL·max|want| + RTOL·|want| of the FP32 model (f16: RTOL 1e-2, ATOL 1e-3; bf16: RTOL 2e-2,
 * ATOL 1e-2).
 */
class PrecisionTest {
    /** From the api module (Maven) or the repository root (the packed GPU runner). */
    static final Path TINY_BLOCK = java.nio.file.Files.exists(Path.of("../examples/tiny_block.onnx"))
            ? Path.of("../examples/tiny_block.onnx") : Path.of("examples/tiny_block.onnx");

    static List<Tensor> inputs(CompiledModel m, long seed) {
        Random r = new Random(seed);
        List<Tensor> in = new ArrayList<>();
        for (Value v : m.graph().inputs()) {
            double[] d = new double[(int) v.shape().numel()];
            for (int i = 0; i < d.length; i++) d[i] = 2 * r.nextDouble() - 1;
            in.add(Tensor.ofDoubles(v.dtype(), v.shape().sizes(), d));
        }
        return in;
    }

    static void assertWithin(List<Tensor> want, List<Tensor> got, double rtol, double atol) {
        assertEquals(want.size(), got.size());
        for (int k = 0; k < want.size(); k++) {
            Tensor w = want.get(k), g = got.get(k);
            assertEquals(w.type(), g.type(), "output " + k + " keeps its f32 type");
            double mag = 0;
            for (int i = 0; i < w.numel(); i++) mag = Math.max(mag, Math.abs(w.getDouble(i)));
            assertTrue(mag > 0, "output " + k + " is not all zero");

            for (int i = 0; i < w.numel(); i++) {
                double a = w.getDouble(i), b = g.getDouble(i);
                assertTrue(Math.abs(a - b) <= atol * mag + rtol * Math.abs(a),
                        "output " + k + " element " + i + ": want " + a + ", got " + b + " (max |want| " + mag + ")");
            }
        }
    }

    /** Whether some kernel takes or returns buffers of {@code ctype} (its signature; helpers in a prelude do not count). */
    static boolean kernelsUse(CompiledModel m, String ctype) {
        return m.plan().kernels().stream().anyMatch(k -> k.source().lines()
                .anyMatch(l -> l.startsWith("extern \"C\"") && l.contains(ctype)));
    }

    @Test
    void halfPrecisionPlansStayCloseToFp32() {
        CompileOptions base = CompileOptions.defaults();
        try (CompiledModel f32 = Kiln.compile(TINY_BLOCK, base);
             CompiledModel f16 = Kiln.compile(TINY_BLOCK, base.withPrecision(CompileOptions.Precision.FP16));
             CompiledModel bf16 = Kiln.compile(TINY_BLOCK, base.withPrecision(CompileOptions.Precision.BF16))) {
            assertFalse(kernelsUse(f32, "__half") || kernelsUse(f32, "__nv_bfloat16"), "fp32 stays fp32");
            assertTrue(kernelsUse(f16, "__half"), "fp16 kernels use __half");
            assertTrue(kernelsUse(bf16, "__nv_bfloat16"), "bf16 kernels use __nv_bfloat16");
            // the interface stays f32: same input and output types as the FP32 model
            assertEquals(f32.graph().inputs().collect(Value::type), f16.graph().inputs().collect(Value::type));
            assertEquals(f32.graph().outputs().collect(Value::type), bf16.graph().outputs().collect(Value::type));
            assertTrue(f16.graph().outputs().allSatisfy(v -> v.dtype() == DType.F32));
            for (long seed = 0; seed < 3; seed++) {
                List<Tensor> in = inputs(f32, seed);
                List<Tensor> want = f32.runReference(in);
                assertWithin(want, f16.runReference(in), 1e-2, 1e-3);
                assertWithin(want, bf16.runReference(in), 2e-2, 1e-2);
            }
            String report = f16.report().toString();
            assertFalse(report.contains("not applied"), report);
            assertTrue(report.contains("computed in fp16"), report);
            assertEquals(CompileOptions.Precision.BF16, bf16.report().precision());
        }
    }

    @Tag("gpu")
    @Test
    void fp16TinyBlockOnTheGpuMatchesTheFp32Reference() {
        assumeTrue(Cuda.available(), () -> "no GPU: " + Cuda.unavailableReason());
        try (CompiledModel f32 = Kiln.compile(TINY_BLOCK, CompileOptions.defaults());
             CompiledModel f16 = Kiln.compile(TINY_BLOCK, CompileOptions.defaults().withPrecision(CompileOptions.Precision.FP16))) {
            for (long seed = 0; seed < 2; seed++) {
                List<Tensor> in = inputs(f32, seed);
                assertWithin(f32.runReference(in), f16.run(in), 1e-2, 1e-3);
            }
        }
    }
}
