// Standalone H200 check of the wgmma GEMM path (issue 7), independent of the Java runtime: the kernels in
// wgmma_kernels.cuh are exactly what Kiln generates (WgmmaGpuCheckSourcesTest keeps them current). For each
// case: fill A and B with multiples of 1/4 in [-1, 1] (products and fp32 sums exact), poison C with NaN, run
// the kernel once, compare with a plain shared-memory-tiled fp32 reference GEMM, then time 20 launches with
// CUDA events. Prints max error (scaled by 1 + |ref|), wrong elements and TFLOP/s; with -DWITH_CUBLAS also
// cublasGemmEx on the same operands for the big shapes (the torch.matmul baseline, ~830-950 TFLOP/s on 8192^3 f16).
// TMA cases (config wgmma_tma ...) take one more parameter: A's and B's tensor maps, 128 bytes each, in global
// memory; this driver encodes them as the table row says (cuTensorMapEncodeTiled, fetched through the runtime's
// driver entry point so no -lcuda is needed) and copies them to the device before the first launch.
// Build and run (one line, from the checkout root):
//   bash bench/wgmma/run.sh   (nvcc -gencode arch=compute_90a,code=sm_90a, with cuBLAS when it links)
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <algorithm>
#include <cuda.h>
#ifdef WITH_CUBLAS
#include <cublas_v2.h>
#endif

struct KilnCase {
  const char* name; const char* config; const void* fn; int bf16; long long m, n, k; int aK, bK;
  dim3 grid; int block; int smem; long long wsBytes, cntBytes;
  int tma; long long mapA[5], mapB[5];  // tensor maps: inner, outer, row stride (bytes), box inner, box outer
};
#include "wgmma_kernels.cuh"

#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("CUDA error %s at %s:%d: %s\n", cudaGetErrorString(e), __FILE__, __LINE__, #x); exit(1); } } while (0)

__device__ float ld(const unsigned short* p, long long i, int bf16) {
  unsigned short b = p[i];
  return bf16 ? __bfloat162float(__ushort_as_bfloat16(b)) : __half2float(__ushort_as_half(b));
}

__global__ void fill(unsigned short* p, long long n, unsigned seed, int bf16) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
    unsigned h = (unsigned)i * 2654435761u ^ seed; h ^= h >> 15; h *= 2246822519u; h ^= h >> 13;
    float v = (float)((int)(h % 9u) - 4) / 4.0f;
    p[i] = bf16 ? __bfloat16_as_ushort(__float2bfloat16_rn(v)) : __half_as_ushort(__float2half_rn(v));
  }
}

// R[m][n] = sum_k A(m,k) B(k,n); A is [M,K] (aK) or [K,M]; B is [N,K] (bK) or [K,N]
__global__ void reference(const unsigned short* A, const unsigned short* B, float* R, long long M, long long N, long long K, int aK, int bK, int bf16) {
  __shared__ float as[16][17], bs[16][17];
  const long long row = blockIdx.y * 16LL + threadIdx.y, col = blockIdx.x * 16LL + threadIdx.x;
  float s = 0.f;
  for (long long k0 = 0; k0 < K; k0 += 16) {
    long long ar = blockIdx.y * 16LL + threadIdx.y, ak = k0 + threadIdx.x, bk = k0 + threadIdx.y, bc = blockIdx.x * 16LL + threadIdx.x;
    as[threadIdx.y][threadIdx.x] = ar < M && ak < K ? ld(A, aK ? ar * K + ak : ak * M + ar, bf16) : 0.f;
    bs[threadIdx.y][threadIdx.x] = bc < N && bk < K ? ld(B, bK ? bc * K + bk : bk * N + bc, bf16) : 0.f;
    __syncthreads();
    for (int k = 0; k < 16; k++) s += as[threadIdx.y][k] * bs[k][threadIdx.x];
    __syncthreads();
  }
  if (row < M && col < N) R[row * N + col] = s;
}

__global__ void compare(const unsigned short* C, const float* R, long long n, float tol, int bf16, unsigned* bad, unsigned* worst) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
    const float c = ld(C, i, bf16), r = R[i], e = fabsf(c - r) / (1.f + fabsf(r));
    if (!(e <= tol)) atomicAdd(bad, 1u);
    atomicMax(worst, e == e ? __float_as_uint(e) : 0x7f800000u);
  }
}

typedef CUresult (*EncodeTiled)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*, const cuuint64_t*, const cuuint32_t*,
                                const cuuint32_t*, CUtensorMapInterleave, CUtensorMapSwizzle, CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

// one operand's map as WgmmaKernel.tmaMap describes it: 2-byte elements, 128-byte swizzle, zero outside the tensor
static void encode(CUtensorMap* out, const long long* d, void* base, int bf16) {
  static EncodeTiled fn = nullptr;
  if (!fn) {
    cudaDriverEntryPointQueryResult q;
    CK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", (void**)&fn, 12000, cudaEnableDefault, &q));
    if (q != cudaDriverEntryPointSuccess || !fn) { printf("cuTensorMapEncodeTiled not found\n"); exit(1); }
  }
  cuuint64_t dims[2] = {(cuuint64_t)d[0], (cuuint64_t)d[1]}, strides[1] = {(cuuint64_t)d[2]};
  cuuint32_t box[2] = {(cuuint32_t)d[3], (cuuint32_t)d[4]}, es[2] = {1, 1};
  CUresult r = fn(out, bf16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 2, base, dims, strides, box, es, CU_TENSOR_MAP_INTERLEAVE_NONE,
                  CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) { printf("cuTensorMapEncodeTiled failed: %d\n", (int)r); exit(1); }
}

int main() {
  int dev = 0;
  cudaDeviceProp prop;
  CK(cudaGetDeviceProperties(&prop, dev));
  printf("%s, sm_%d%d, %d SMs\n", prop.name, prop.major, prop.minor, prop.multiProcessorCount);
  printf("%-26s %-30s %-18s %9s %9s %10s %9s\n", "case", "config", "M x N x K", "max err", "wrong", "us", "TFLOP/s");
  int failures = 0;
  for (const KilnCase& c : kiln_cases) {
    unsigned short *A, *B, *C;
    float* R;
    unsigned* flags;
    void *ws = nullptr, *cnt = nullptr;
    CK(cudaMalloc(&A, c.m * c.k * 2));
    CK(cudaMalloc(&B, c.k * c.n * 2));
    CK(cudaMalloc(&C, c.m * c.n * 2));
    CK(cudaMalloc(&R, c.m * c.n * 4));
    CK(cudaMalloc(&flags, 8));
    if (c.wsBytes) CK(cudaMalloc(&ws, c.wsBytes));
    if (c.cntBytes) { CK(cudaMalloc(&cnt, c.cntBytes)); CK(cudaMemset(cnt, 0, c.cntBytes)); }
    fill<<<1024, 256>>>(A, c.m * c.k, 17, c.bf16);
    fill<<<1024, 256>>>(B, c.k * c.n, 91, c.bf16);
    reference<<<dim3((unsigned)((c.n + 15) / 16), (unsigned)((c.m + 15) / 16)), dim3(16, 16)>>>(A, B, R, c.m, c.n, c.k, c.aK, c.bK, c.bf16);
    CK(cudaGetLastError());
    CK(cudaFuncSetAttribute(c.fn, cudaFuncAttributeMaxDynamicSharedMemorySize, c.smem));
    void* tmap = nullptr;
    if (c.tma) {
      alignas(64) CUtensorMap maps[2];
      encode(&maps[0], c.mapA, A, c.bf16);
      encode(&maps[1], c.mapB, B, c.bf16);
      CK(cudaMalloc(&tmap, sizeof maps));
      CK(cudaMemcpy(tmap, maps, sizeof maps, cudaMemcpyHostToDevice));
    }
    // the kernel's parameters: A, B, C, then split-K's workspaces when it has them, then the TMA maps
    void* args[6] = {&A, &B, &C};
    int na = 3;
    if (c.wsBytes) { args[na++] = &ws; args[na++] = &cnt; }
    if (c.tma) args[na++] = &tmap;
    auto launch = [&] { return cudaLaunchKernel(c.fn, c.grid, dim3(c.block), args, (size_t)c.smem, 0); };
    auto check = [&](unsigned& bad, float& worst) {
      CK(cudaMemset(flags, 0, 8));
      compare<<<1024, 256>>>(C, R, c.m * c.n, c.bf16 ? 1.6e-2f : 2e-3f, c.bf16, flags, flags + 1);
      unsigned h[2];
      CK(cudaMemcpy(h, flags, 8, cudaMemcpyDeviceToHost));
      bad = h[0];
      memcpy(&worst, &h[1], 4);
    };
    CK(cudaMemset(C, 0xff, c.m * c.n * 2));
    CK(launch());
    CK(cudaDeviceSynchronize());
    unsigned bad1, bad2;
    float worst1, worst2;
    check(bad1, worst1);
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    for (int i = 0; i < 3; i++) CK(launch());
    const int reps = 20;
    std::vector<float> ms(reps);
    for (int r = 0; r < reps; r++) {
      CK(cudaEventRecord(e0));
      CK(launch());
      CK(cudaEventRecord(e1));
      CK(cudaEventSynchronize(e1));
      CK(cudaEventElapsedTime(&ms[r], e0, e1));
    }
    check(bad2, worst2);  // again after many launches: split-K counters must come back to zero
    std::sort(ms.begin(), ms.end());
    double t = ms[reps / 2] * 1e-3, flops = 2.0 * c.m * c.n * c.k;
    char shape[64];
    snprintf(shape, sizeof shape, "%lldx%lldx%lld", c.m, c.n, c.k);
    printf("%-26s %-30s %-18s %9.2e %9u %10.1f %9.1f %s\n", c.name, c.config, shape, std::max(worst1, worst2), bad1 + bad2, t * 1e6, flops / t / 1e12,
           bad1 + bad2 ? "WRONG" : "ok");
    failures += bad1 + bad2 ? 1 : 0;
#ifdef WITH_CUBLAS
    if (c.m >= 8000 && c.aK) {
      // row-major C[M,N] = A[M,K] B: column-major C^T[N,M] = B^T A^T, with B^T = B [K,N] row-major read as col-major N x K ("N")
      cublasHandle_t h;
      cublasCreate(&h);
      float one = 1.f, zero = 0.f;
      cudaDataType dt = c.bf16 ? CUDA_R_16BF : CUDA_R_16F;
      auto gemm = [&] {
        return cublasGemmEx(h, c.bK ? CUBLAS_OP_T : CUBLAS_OP_N, CUBLAS_OP_N, (int)c.n, (int)c.m, (int)c.k, &one, B, dt, c.bK ? (int)c.k : (int)c.n,
                            A, dt, (int)c.k, &zero, C, dt, (int)c.n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
      };
      for (int i = 0; i < 3; i++) gemm();
      for (int r = 0; r < reps; r++) {
        CK(cudaEventRecord(e0));
        gemm();
        CK(cudaEventRecord(e1));
        CK(cudaEventSynchronize(e1));
        CK(cudaEventElapsedTime(&ms[r], e0, e1));
      }
      std::sort(ms.begin(), ms.end());
      double tc = ms[reps / 2] * 1e-3;
      unsigned bad3;
      float worst3;
      check(bad3, worst3);
      printf("%-26s %-30s %-18s %9.2e %9u %10.1f %9.1f  kiln/cublas time %.2fx\n", "  cublasGemmEx", "", shape, worst3, bad3, tc * 1e6, flops / tc / 1e12, t / tc);
      cublasDestroy(h);
    }
#endif
    cudaFree(A); cudaFree(B); cudaFree(C); cudaFree(R); cudaFree(flags);
    if (ws) cudaFree(ws);
    if (cnt) cudaFree(cnt);
    if (tmap) cudaFree(tmap);
  }
  printf(failures ? "%d case(s) WRONG\n" : "all cases match the reference\n", failures);
  return failures ? 1 : 0;
}
