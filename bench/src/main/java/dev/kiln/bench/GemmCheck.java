package dev.kiln.bench;

import dev.kiln.codegen.CTypes;
import dev.kiln.ir.DType;

/**
 * GPU helper kernels of the GEMM benchmark, generated per dtype: deterministic pseudo-random fill in
 * [-1, 1), a naive reference GEMM (one thread per output, fp32 accumulation in k order) and a comparison that
 * counts elements outside the tolerance (NaN, from the poisoned output, counts) and records the largest
 * error scaled by {@code 1 + |ref|}.
 */
final class GemmCheck {
    private GemmCheck() {}

    static String source(DType t) {
        String s = CTypes.storage(t);
        return CTypes.PRELUDE + """
                extern "C" __global__ void fill(T* p, long long n, unsigned seed) {
                  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
                    unsigned h = (unsigned)i * 2654435761u ^ seed; h ^= h >> 15; h *= 2246822519u; h ^= h >> 13;
                    p[i] = STORE((float)(h & 0xffff) / 32768.0f - 1.0f);
                  }
                }
                extern "C" __global__ void reference(const T* A, const T* B, float* R, long long M, long long N, long long K, int bt) {
                  const long long row = blockIdx.y * 16LL + threadIdx.y, col = blockIdx.x * 16LL + threadIdx.x;
                  if (row >= M || col >= N) return;
                  float s = 0.f;
                  for (long long k = 0; k < K; k++) s += LOAD(A[row * K + k]) * LOAD(B[bt ? col * K + k : k * N + col]);
                  R[row * N + col] = s;
                }
                extern "C" __global__ void compare(const T* C, const float* R, long long n, float tol, unsigned* bad, unsigned* worst) {
                  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
                    const float c = LOAD(C[i]), r = R[i], e = fabsf(c - r) / (1.f + fabsf(r));
                    if (!(e <= tol)) atomicAdd(bad, 1u);
                    if (e == e) atomicMax(worst, __float_as_uint(e));
                    else atomicMax(worst, 0x7f800000u);
                  }
                }
                """.replace("STORE(", t == DType.F32 ? "(" : t == DType.F16 ? "__float2half_rn(" : "__float2bfloat16_rn(")
                .replace("LOAD(", t == DType.F32 ? "(" : t == DType.F16 ? "__half2float(" : "__bfloat162float(")
                .replace("T*", s + "*");
    }

    /** Error allowed per element, relative to 1 + |ref|: fp32 sums in another order; f16/bf16 round the output. */
    static float tolerance(DType t, long k) {
        double roundoff = t == DType.F32 ? 1e-5 : t == DType.F16 ? 2e-3 : 1.6e-2;
        return (float) (roundoff + 1e-6 * Math.sqrt(k));
    }
}
