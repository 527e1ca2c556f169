package dev.kiln.codegen.kernels.gemm;

import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.sim.SimKernel;
import dev.kiln.ir.DType;
import dev.kiln.ir.Tensor;

import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Test helper: runs the engine alone (no IR, a {@link PlainGemm} kernel) on the CPU simulator. Operands are
 * flat buffers A and B read through their {@link GemmOperand}s; the output C is row-major [batch, m, n] in
 * the operand dtype. The reference sums in double through the same strides.
 */
final class GemmSim {
    private GemmSim() {}

    /** Values k/4 for k in -4..4: products and sums stay exact in fp32 (and TF32, f16, bf16 inputs). */
    static Tensor quarters(DType t, long n, Random r) {
        double[] v = new double[(int) n];
        for (int i = 0; i < n; i++) v[i] = (r.nextInt(9) - 4) / 4.0;
        return Tensor.ofDoubles(t, new long[] {n}, v);
    }

    static KernelSpec kernel(GemmProblem p, GemmConfig c) { return PlainGemm.kernel(p, c, "gemm_test"); }

    static KernelSpec kernel(GemmProblem p, GemmConfig c, String entry) { return PlainGemm.kernel(p, c, entry); }

    /** Element of a strided operand at (batch entry bz, mn, k), from its record. */
    static long index(StridedOperand o, long bz, long mn, long k) {
        long off = o.offset(), rest = bz;
        long[] shape = o.batchShape(), st = o.batchStrides();
        for (int a = shape.length - 1; a >= 0; a--) {
            off += (rest % shape[a]) * st[a];
            rest /= shape[a];
        }
        return off + mn * o.mnStride() + k * o.kStride();
    }

    /** Runs {@code c} on {@code p} over buffers a and b; asserts every output within {@code tol} (relative + absolute). */
    static void check(GemmProblem p, GemmConfig c, Tensor a, Tensor b, double tol) {
        KernelSpec k = kernel(p, c);
        long outN = p.batches() * p.m() * p.n();
        DType t = p.math().dtype;
        byte[] got = SimKernel.run(k, Map.of("A", a, "B", b), Map.of("C", outN * t.storageBytes())).get("C");
        Tensor g = Tensor.ofBytes(t, new long[] {outN}, got);
        StridedOperand oa = (StridedOperand) p.a(), ob = (StridedOperand) p.b();
        for (long bz = 0; bz < p.batches(); bz++)
            for (long i = 0; i < p.m(); i++)
                for (long j = 0; j < p.n(); j++) {
                    double want = 0;
                    for (long kk = 0; kk < p.k(); kk++)
                        want += a.getDouble((int) index(oa, bz, i, kk)) * b.getDouble((int) index(ob, bz, j, kk));
                    int at = (int) ((bz * p.m() + i) * p.n() + j);
                    assertEquals(want, g.getDouble(at), tol * (1 + Math.abs(want)),
                            () -> c + " on " + p + ": C[" + at + "] (source in the simulator's temp folder)\n");
                }
    }
}
