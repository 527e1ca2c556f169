package dev.kiln.codegen.kernels.tile;

/**
 * The warp-level tile operations every tensor-core template is written in (sm_80 and newer), as small C
 * device functions so that a kernel reads as a loop of tile math and so that the CPU simulator used in tests
 * ({@code kiln_sim.h}) can stand in for each one:
 * <ul>
 * <li>{@code kiln_cp_async16(dst, src, valid)}: 16 bytes global to shared memory without passing through
 *     registers ({@code cp.async.cg}); zero-fills when {@code valid} is false. {@code kiln_cp_async_commit()}
 *     closes a group, {@code kiln_cp_async_wait<N>()} waits until at most N groups are in flight.</li>
 * <li>{@code kiln_ldmatrix_x4/x2[_trans](r, p)}: four (two) 8x8 b16 matrices from shared memory into mma
 *     fragments; lane {@code 8j + i} gives the address of row i of matrix j.</li>
 * <li>{@code kiln_mma_f16/bf16(d, a, b)}: {@code mma.sync m16n8k16}, A row-major 16x16, B "col" 16x8, fp32
 *     accumulators. Fragments (g = lane / 4, t = lane % 4): a0 = A[g][2t..2t+1], a1 = A[g+8][2t..], a2 =
 *     A[g][2t+8..], a3 = A[g+8][2t+8..]; b0 = B[2t..2t+1][g], b1 = B[2t+8..2t+9][g]; d0,d1 = D[g][2t..2t+1],
 *     d2,d3 = D[g+8][2t..2t+1]. The lower column (or k) index sits in the low 16 bits.</li>
 * <li>{@code kiln_mma_tf32(d, a, b)}: {@code mma.sync m16n8k8} on TF32 (fp32 bit patterns rounded by
 *     {@code kiln_tf32}); a0 = A[g][t], a1 = A[g+8][t], a2 = A[g][t+4], a3 = A[g+8][t+4]; b0 = B[t][g],
 *     b1 = B[t+4][g]; d as above.</li>
 * <li>{@code kiln_pack_f16/bf16(lo, hi)}: two floats rounded into one 32-bit fragment register.</li>
 * <li>{@code KILN_DYNAMIC_SMEM(name)} declares the dynamic shared memory as bytes, 128-byte aligned.</li>
 * </ul>
 */
public final class TileOps {
    private TileOps() {}

    /** Included after {@link dev.kiln.codegen.CTypes#PRELUDE} by templates that use tile operations. */
    public static final String PRELUDE = """
            // Kiln tile operations (sm_80+): cp.async, ldmatrix, mma.sync (the CPU simulator defines KILN_SIM and its own)
            #ifndef KILN_SIM
            #define KILN_DYNAMIC_SMEM(name) extern __shared__ __align__(128) unsigned char name[]
            __device__ __forceinline__ unsigned kiln_smem(const void* p) { return (unsigned)__cvta_generic_to_shared(p); }
            __device__ __forceinline__ void kiln_cp_async16(void* dst, const void* src, bool valid) {
              asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\\n" :: "r"(kiln_smem(dst)), "l"(src), "r"(valid ? 16 : 0));
            }
            __device__ __forceinline__ void kiln_cp_async_commit() { asm volatile("cp.async.commit_group;\\n" ::); }
            template <int N> __device__ __forceinline__ void kiln_cp_async_wait() { asm volatile("cp.async.wait_group %0;\\n" :: "n"(N)); }
            __device__ __forceinline__ void kiln_ldmatrix_x4(unsigned (&r)[4], const void* p) {
              asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\\n"
                           : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(kiln_smem(p)));
            }
            __device__ __forceinline__ void kiln_ldmatrix_x4_trans(unsigned (&r)[4], const void* p) {
              asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\\n"
                           : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(kiln_smem(p)));
            }
            __device__ __forceinline__ void kiln_ldmatrix_x2(unsigned (&r)[2], const void* p) {
              asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];\\n" : "=r"(r[0]), "=r"(r[1]) : "r"(kiln_smem(p)));
            }
            __device__ __forceinline__ void kiln_ldmatrix_x2_trans(unsigned (&r)[2], const void* p) {
              asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];\\n" : "=r"(r[0]), "=r"(r[1]) : "r"(kiln_smem(p)));
            }
            __device__ __forceinline__ void kiln_mma_f16(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
              asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\\n"
                           : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                           : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
            }
            __device__ __forceinline__ void kiln_mma_bf16(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
              asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\\n"
                           : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                           : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
            }
            __device__ __forceinline__ unsigned kiln_tf32(float x) { unsigned r; asm("cvt.rna.tf32.f32 %0, %1;\\n" : "=r"(r) : "f"(x)); return r; }
            __device__ __forceinline__ void kiln_mma_tf32(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
              asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\\n"
                           : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                           : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
            }
            __device__ __forceinline__ unsigned kiln_pack_f16(float lo, float hi) {
              __half2 h = __floats2half2_rn(lo, hi); return *reinterpret_cast<unsigned*>(&h);
            }
            __device__ __forceinline__ unsigned kiln_pack_bf16(float lo, float hi) {
              __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi); return *reinterpret_cast<unsigned*>(&h);
            }
            #endif
            """;
}
