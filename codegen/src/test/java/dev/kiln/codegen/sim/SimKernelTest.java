package dev.kiln.codegen.sim;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.NvccPtx;
import dev.kiln.codegen.kernels.tile.TileOps;
import dev.kiln.ir.DType;
import dev.kiln.ir.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The simulator against plain Java arithmetic: one warp multiplies a 16x16 by a 16x8 tile through cp.async,
 * ldmatrix (plain and transposed) and mma.sync, as the tensor-core templates do; and a read of shared memory
 * before its cp.async group is waited for must come out wrong (the simulator holds copies back), so a missing
 * wait in a template cannot pass. The same sources compile with nvcc for sm_90.
 */
class SimKernelTest {
    static final String MMA = CTypes.PRELUDE + TileOps.PRELUDE + """
            extern "C" __global__ void __launch_bounds__(32) tile_mma(const __half* A, const __half* B, float* D) {
              __shared__ __align__(128) __half As[16][16];
              __shared__ __align__(128) __half Bs[16][8];
              const int l = threadIdx.x;
              kiln_cp_async16(&As[l / 2][(l % 2) * 8], A + (l / 2) * 16 + (l % 2) * 8, true);
              if (l < 16) kiln_cp_async16(&Bs[l][0], B + l * 8, true);
              kiln_cp_async_commit();
              kiln_cp_async_wait<0>();
              __syncthreads();
              unsigned a[4], b[2];
              kiln_ldmatrix_x4(a, &As[l % 16][8 * (l / 16)]);
              kiln_ldmatrix_x2_trans(b, &Bs[l % 16][0]);
              float d[4] = {0.f, 0.f, 0.f, 0.f};
              kiln_mma_f16(d, a, b);
              const int g = l / 4, t = l % 4;
              D[g * 8 + 2 * t] = d[0]; D[g * 8 + 2 * t + 1] = d[1];
              D[(g + 8) * 8 + 2 * t] = d[2]; D[(g + 8) * 8 + 2 * t + 1] = d[3];
            }
            """;

    /** Reads its cp.async destination without waiting: must not see the copied value. */
    static final String NO_WAIT = CTypes.PRELUDE + TileOps.PRELUDE + """
            extern "C" __global__ void __launch_bounds__(32) no_wait(const float* X, float* Y) {
              KILN_DYNAMIC_SMEM(smem);
              float* s = reinterpret_cast<float*>(smem);
              kiln_cp_async16(s + 4 * threadIdx.x, X + 4 * threadIdx.x, true);
              kiln_cp_async_commit();
              Y[threadIdx.x] = s[4 * threadIdx.x];
              kiln_cp_async_wait<0>();
              Y[32 + threadIdx.x] = s[4 * threadIdx.x];
            }
            """;

    @Test void oneWarpTileProductMatchesPlainArithmetic() {
        Random r = new Random(7);
        double[] a = new double[16 * 16], b = new double[16 * 8];
        for (int i = 0; i < a.length; i++) a[i] = (r.nextInt(17) - 8) / 4.0; // exact in f16, sums exact in f32
        for (int i = 0; i < b.length; i++) b[i] = (r.nextInt(17) - 8) / 4.0;
        KernelSpec k = spec("tile_mma", MMA, 0, List.of("A", "B", "D"));
        Map<String, byte[]> out = SimKernel.run(k, Map.of("A", Tensor.ofDoubles(DType.F16, new long[] {16, 16}, a),
                "B", Tensor.ofDoubles(DType.F16, new long[] {16, 8}, b)), Map.of("D", 16L * 8 * 4));
        Tensor d = Tensor.ofBytes(DType.F32, new long[] {16, 8}, out.get("D"));
        for (int m = 0; m < 16; m++)
            for (int n = 0; n < 8; n++) {
                double want = 0;
                for (int kk = 0; kk < 16; kk++) want += a[m * 16 + kk] * b[kk * 8 + n];
                assertEquals(want, d.getDouble(m * 8 + n), 0.0, "D[" + m + "][" + n + "]");
            }
    }

    @Test void readingBeforeTheWaitSeesNoCopiedData() {
        double[] x = new double[128];
        for (int i = 0; i < x.length; i++) x[i] = i + 1;
        KernelSpec k = spec("no_wait", NO_WAIT, 512, List.of("X", "Y"));
        Tensor y = Tensor.ofBytes(DType.F32, new long[] {64}, SimKernel.run(k, Map.of("X", Tensor.ofDoubles(DType.F32, new long[] {128}, x)),
                Map.of("Y", 64L * 4)).get("Y"));
        for (int t = 0; t < 32; t++) {
            assertTrue(Double.isNaN(y.getDouble(t)), "read before the wait should see poisoned shared memory, got " + y.getDouble(t));
            assertEquals(4 * t + 1, y.getDouble(32 + t), "after the wait");
        }
    }

    @Test void sourcesCompileForTheGpu() {
        NvccPtx.nvccOrSkip();
        String ptx = NvccPtx.compileAll(List.of(MMA, NO_WAIT));
        assertTrue(ptx.contains("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32"), "mma.sync in the PTX");
        assertTrue(ptx.contains("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16"), "transposed ldmatrix in the PTX");
        assertTrue(ptx.contains("cp.async.cg.shared.global"), "cp.async in the PTX");
    }

    private static KernelSpec spec(String entry, String source, int shared, List<String> buffers) {
        return new KernelSpec(entry, source, entry, KernelSpec.Dim3.of(1), KernelSpec.Dim3.of(32), shared,
                buffers.stream().<KernelSpec.Param>map(KernelSpec.Param.Buffer::new).toList(), List.of());
    }
}
