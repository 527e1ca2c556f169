package dev.kiln.bench;

/** CUDA sources the benchmarks compile through the runtime's cache. */
final class BenchKernels {
    private BenchKernels() {}

    /** The smallest useful kernel: launch cost dominates its run time. */
    static final String TINY = """
            extern "C" __global__ void tiny(float* p) {
                if (threadIdx.x == 0) p[blockIdx.x] += 1.0f;
            }
            """;

    /**
     * A copy as codegen would emit for a memory-bound op: 16-byte loads, four per thread issued before
     * any store so that each thread keeps four loads in flight (latency hiding without huge grids).
     */
    static final String COPY = """
            extern "C" __global__ void copy4(float4* __restrict__ dst, const float4* __restrict__ src, long long n4) {
                long long base = (long long) blockIdx.x * blockDim.x * 4 + threadIdx.x;
                float4 v[4];
                #pragma unroll
                for (int k = 0; k < 4; k++) {
                    long long j = base + (long long) k * blockDim.x;
                    if (j < n4) v[k] = src[j];
                }
                #pragma unroll
                for (int k = 0; k < 4; k++) {
                    long long j = base + (long long) k * blockDim.x;
                    if (j < n4) dst[j] = v[k];
                }
            }
            """;

    /** A kernel of realistic size for compile timing: a fused elementwise chain like codegen emits. */
    static final String FUSED = """
            extern "C" __global__ void fused(float* __restrict__ out, const float* __restrict__ a,
                                             const float* __restrict__ b, const float* __restrict__ c, int n) {
                int i = blockIdx.x * blockDim.x + threadIdx.x;
                if (i >= n) return;
                float x = a[i] * b[i] + c[i];
                float g = 0.5f * x * (1.0f + tanhf(0.7978845608f * (x + 0.044715f * x * x * x)));
                float s = 1.0f / (1.0f + expf(-g));
                out[i] = fmaxf(s * g, 0.0f) + sqrtf(fabsf(x));
            }
            """;
}
