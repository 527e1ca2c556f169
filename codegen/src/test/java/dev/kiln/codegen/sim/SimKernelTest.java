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

    /**
     * Every fragment form the templates use, each checked against the plain product (the same kernels run on
     * the GPU in .scratch-style device checks: the layouts match the hardware's there).
     */
    static final String FORMS = CTypes.PRELUDE + TileOps.PRELUDE + """
            extern "C" __global__ void mma_f16(const __half* A, const __half* Bkn, const __half* Bnk, float* D1, float* D2, float* D3) {
              __shared__ __align__(128) __half As[16][16];
              __shared__ __align__(128) __half Bs[16][8];
              __shared__ __align__(128) __half Bt[8][16];
              __shared__ __align__(128) __half At[16][16]; // A transposed: At[k][m]
              const int l = threadIdx.x;
              kiln_cp_async16(&As[l / 2][(l % 2) * 8], A + (l / 2) * 16 + (l % 2) * 8, true);
              if (l < 16) kiln_cp_async16(&Bs[l][0], Bkn + l * 8, true);
              if (l < 16) kiln_cp_async16(&Bt[l / 2][(l % 2) * 8], Bnk + (l / 2) * 16 + (l % 2) * 8, true);
              kiln_cp_async_commit();
              kiln_cp_async_wait<0>();
              __syncthreads();
              for (int e = l; e < 256; e += 32) At[e % 16][e / 16] = As[e / 16][e % 16];
              __syncthreads();
              unsigned a[4], b[2];
              const int g = l / 4, t = l % 4;
              // 1: A by ldmatrix x4, B [k][n] by x2.trans
              kiln_ldmatrix_x4(a, &As[l % 16][8 * (l / 16)]);
              kiln_ldmatrix_x2_trans(b, &Bs[l % 16][0]);
              float d[4] = {0, 0, 0, 0};
              kiln_mma_f16(d, a, b);
              D1[g * 8 + 2 * t] = d[0]; D1[g * 8 + 2 * t + 1] = d[1]; D1[(g + 8) * 8 + 2 * t] = d[2]; D1[(g + 8) * 8 + 2 * t + 1] = d[3];
              // 2: B [n][k] (k contiguous) by plain x2: matrix 0 = k 0..7, matrix 1 = k 8..15; lane i gives row n = i%8
              kiln_ldmatrix_x2(b, &Bt[l % 8][8 * ((l / 8) % 2)]);
              float e[4] = {0, 0, 0, 0};
              kiln_mma_f16(e, a, b);
              D2[g * 8 + 2 * t] = e[0]; D2[g * 8 + 2 * t + 1] = e[1]; D2[(g + 8) * 8 + 2 * t] = e[2]; D2[(g + 8) * 8 + 2 * t + 1] = e[3];
              // 3: A stored transposed At[k][m] read by x4.trans: matrix j: m block (j%2)*8, k block (j/2)*8; lane gives row k
              {
                int j = l / 8, i = l % 8;
                kiln_ldmatrix_x4_trans(a, &At[(j / 2) * 8 + i][(j % 2) * 8]);
                kiln_ldmatrix_x2_trans(b, &Bs[l % 16][0]);
                float f[4] = {0, 0, 0, 0};
                kiln_mma_f16(f, a, b);
                D3[g * 8 + 2 * t] = f[0]; D3[g * 8 + 2 * t + 1] = f[1]; D3[(g + 8) * 8 + 2 * t] = f[2]; D3[(g + 8) * 8 + 2 * t + 1] = f[3];
              }
            }
            extern "C" __global__ void mma_tf32_bf16(const float* A, const float* B, float* D, const __nv_bfloat16* Ab, const __nv_bfloat16* Bb, float* Db) {
              const int l = threadIdx.x, g = l / 4, t = l % 4;
              unsigned a[4] = {kiln_tf32(A[g * 8 + t]), kiln_tf32(A[(g + 8) * 8 + t]), kiln_tf32(A[g * 8 + t + 4]), kiln_tf32(A[(g + 8) * 8 + t + 4])};
              unsigned b[2] = {kiln_tf32(B[t * 8 + g]), kiln_tf32(B[(t + 4) * 8 + g])};
              float d[4] = {0, 0, 0, 0};
              kiln_mma_tf32(d, a, b);
              D[g * 8 + 2 * t] = d[0]; D[g * 8 + 2 * t + 1] = d[1]; D[(g + 8) * 8 + 2 * t] = d[2]; D[(g + 8) * 8 + 2 * t + 1] = d[3];
              auto ab = [&](int r, int c) { return __bfloat162float(Ab[r * 16 + c]); };
              auto bb = [&](int r, int c) { return __bfloat162float(Bb[r * 8 + c]); };
              unsigned x[4] = {kiln_pack_bf16(ab(g, 2 * t), ab(g, 2 * t + 1)), kiln_pack_bf16(ab(g + 8, 2 * t), ab(g + 8, 2 * t + 1)),
                               kiln_pack_bf16(ab(g, 2 * t + 8), ab(g, 2 * t + 9)), kiln_pack_bf16(ab(g + 8, 2 * t + 8), ab(g + 8, 2 * t + 9))};
              unsigned y[2] = {kiln_pack_bf16(bb(2 * t, g), bb(2 * t + 1, g)), kiln_pack_bf16(bb(2 * t + 8, g), bb(2 * t + 9, g))};
              float z[4] = {0, 0, 0, 0};
              kiln_mma_bf16(z, x, y);
              Db[g * 8 + 2 * t] = z[0]; Db[g * 8 + 2 * t + 1] = z[1]; Db[(g + 8) * 8 + 2 * t] = z[2]; Db[(g + 8) * 8 + 2 * t + 1] = z[3];
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

    @Test void everyFragmentFormGivesThePlainProduct() {
        Random r = new Random(11);
        double[] a = new double[256], b = new double[128], af = new double[128], bf = new double[64];
        for (double[] x : List.of(a, b, af, bf)) for (int i = 0; i < x.length; i++) x[i] = (r.nextInt(17) - 8) / 4.0;
        double[] bt = new double[128];
        for (int k = 0; k < 16; k++) for (int n = 0; n < 8; n++) bt[n * 16 + k] = b[k * 8 + n];
        Map<String, Tensor> f16 = Map.of("A", Tensor.ofDoubles(DType.F16, new long[] {16, 16}, a), "Bkn", Tensor.ofDoubles(DType.F16, new long[] {16, 8}, b),
                "Bnk", Tensor.ofDoubles(DType.F16, new long[] {8, 16}, bt));
        Map<String, byte[]> out = SimKernel.run(spec("mma_f16", FORMS, 0, List.of("A", "Bkn", "Bnk", "D1", "D2", "D3")), f16,
                Map.of("D1", 512L, "D2", 512L, "D3", 512L));
        Map<String, byte[]> out2 = SimKernel.run(spec("mma_tf32_bf16", FORMS, 0, List.of("Af", "Bf", "D4", "Ab", "Bb", "D5")),
                Map.of("Af", Tensor.ofDoubles(DType.F32, new long[] {16, 8}, af), "Bf", Tensor.ofDoubles(DType.F32, new long[] {8, 8}, bf),
                        "Ab", Tensor.ofDoubles(DType.BF16, new long[] {16, 16}, a), "Bb", Tensor.ofDoubles(DType.BF16, new long[] {16, 8}, b)),
                Map.of("D4", 512L, "D5", 512L));
        for (String d : List.of("D1", "D2", "D3", "D5")) assertProduct(d, (d.equals("D5") ? out2 : out).get(d), a, b, 16);
        assertProduct("D4", out2.get("D4"), af, bf, 8);
    }

    private static void assertProduct(String what, byte[] bytes, double[] a, double[] b, int k) {
        Tensor d = Tensor.ofBytes(DType.F32, new long[] {16, 8}, bytes);
        for (int m = 0; m < 16; m++)
            for (int n = 0; n < 8; n++) {
                double want = 0;
                for (int kk = 0; kk < k; kk++) want += a[m * k + kk] * b[kk * 8 + n];
                assertEquals(want, d.getDouble(m * 8 + n), 0.0, what + "[" + m + "][" + n + "]");
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
        String ptx = NvccPtx.compileAll(List.of(MMA, NO_WAIT, FORMS));
        assertTrue(ptx.contains("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32"), "mma.sync in the PTX");
        assertTrue(ptx.contains("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16"), "transposed ldmatrix in the PTX");
        assertTrue(ptx.contains("cp.async.cg.shared.global"), "cp.async in the PTX");
    }

    private static KernelSpec spec(String entry, String source, int shared, List<String> buffers) {
        return new KernelSpec(entry, source, entry, KernelSpec.Dim3.of(1), KernelSpec.Dim3.of(32), shared,
                buffers.stream().<KernelSpec.Param>map(KernelSpec.Param.Buffer::new).toList(), List.of());
    }
}
