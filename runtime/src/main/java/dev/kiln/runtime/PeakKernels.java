package dev.kiln.runtime;

/**
 * The CUDA sources {@link DevicePeaks} measures a GPU with. Each keeps its work in registers (or streams
 * memory) so that one resource is the limit, and keeps its results live so the compiler drops nothing.
 */
final class PeakKernels {
    private PeakKernels() {}

    /** Independent accumulator chains per warp: enough to hide the mma and FMA latencies. */
    static final int CHAINS = 8;

    /** Device copy, 16 bytes per access, four loads in flight per thread before any store. */
    static final String COPY = """
            extern "C" __global__ void kiln_peak_copy(uint4* __restrict__ dst, const uint4* __restrict__ src, long long n16) {
              long long base = (long long)blockIdx.x * blockDim.x * 4 + threadIdx.x;
              uint4 v[4];
              #pragma unroll
              for (int k = 0; k < 4; k++) { long long j = base + (long long)k * blockDim.x; if (j < n16) v[k] = src[j]; }
              #pragma unroll
              for (int k = 0; k < 4; k++) { long long j = base + (long long)k * blockDim.x; if (j < n16) dst[j] = v[k]; }
            }
            """;

    /**
     * Tensor-core throughput: each warp runs {@link #CHAINS} independent {@code mma.sync m16n8k16} chains
     * (f32 accumulate) on operands held in registers, {@code iters} times; 4096 FLOPs per mma.
     * {@code TYPE} is f16 or bf16 and {@code ONE} the bit pattern of two 1.0s in it.
     */
    static String mma(String type, String one) {
        return """
                extern "C" __global__ void kiln_peak_mma_TYPE(float* out, int iters) {
                  unsigned a0 = ONE, a1 = ONE ^ (threadIdx.x & 1), a2 = ONE, a3 = ONE, b0 = ONE, b1 = ONE ^ (threadIdx.x & 2);
                  float acc[CHAINS][4];
                  #pragma unroll
                  for (int j = 0; j < CHAINS; j++) { acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.0f; }
                  for (int i = 0; i < iters; i++) {
                    #pragma unroll
                    for (int j = 0; j < CHAINS; j++)
                      asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.TYPE.TYPE.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                                   : "+f"(acc[j][0]), "+f"(acc[j][1]), "+f"(acc[j][2]), "+f"(acc[j][3])
                                   : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
                  }
                  float s = 0.0f;
                  #pragma unroll
                  for (int j = 0; j < CHAINS; j++) s += acc[j][0] + acc[j][1] + acc[j][2] + acc[j][3];
                  if (s == -1.0f) out[0] = s; // never true; keeps the sums live
                }
                """.replace("TYPE", type).replace("ONE", one).replace("CHAINS", Integer.toString(CHAINS));
    }

    static final String MMA_F16 = mma("f16", "0x3C003C00u");
    static final String MMA_BF16 = mma("bf16", "0x3F803F80u");

    /** FP32 throughput: {@link #CHAINS} independent FMA chains per thread, unrolled so loop overhead is small. */
    static final String FMA = """
            extern "C" __global__ void kiln_peak_fma(float* out, int iters) {
              float b = 1.0f - 1e-7f * threadIdx.x, c = 1e-7f * blockIdx.x;
              float a[CHAINS];
              #pragma unroll
              for (int j = 0; j < CHAINS; j++) a[j] = threadIdx.x + j;
              #pragma unroll 16
              for (int i = 0; i < iters; i++) {
                #pragma unroll
                for (int j = 0; j < CHAINS; j++) a[j] = fmaf(a[j], b, c);
              }
              float s = 0.0f;
              #pragma unroll
              for (int j = 0; j < CHAINS; j++) s += a[j];
              if (s == -1.0f) out[0] = s; // never true; keeps the chains live
            }
            """.replace("CHAINS", Integer.toString(CHAINS));
}
