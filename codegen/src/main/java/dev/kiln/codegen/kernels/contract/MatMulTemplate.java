package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CudaSource;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.KernelTemplate;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.UnsupportedException;

import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Fused kind {@code matmul}: one numpy MatMul (2-D or batched with broadcast batch dims) and its elementwise
 * epilogue, applied to the accumulator before the one store. One block per 64x64 output tile and batch entry
 * (grid z strides over batches beyond 65535). fp32 and f64: shared-memory SIMT tiles, 16x16 threads with a
 * 4x4 register tile each, exact FMA (TF32 is never used, even when allowed). f16/bf16: WMMA 16x16x16 tensor
 * cores with fp32 accumulation, 4 warps of 32x32 each, the tile staged through shared memory for the epilogue.
 * K tiles are zero-filled past the edges, so any M, N, K works. 1-D operands are unsupported.
 */
public final class MatMulTemplate implements KernelTemplate {
    static final int TILE = 64;

    @Override public String name() { return "matmul"; }

    @Override public boolean accepts(Node node, Graph graph) { return FusedBody.isKind(node, "matmul"); }

    /** M, N, K, batch shape and each operand's own batch shape, from the static types. */
    record Dims(long m, long n, long k, long[] batch, long[] aBatch, long[] bBatch) {
        long batches() { return Index.numel(batch); }

        static Dims of(Node mm) {
            long[] a = mm.input(0).shape().sizes(), b = mm.input(1).shape().sizes(), y = mm.output(0).shape().sizes();
            if (a.length < 2 || b.length < 2)
                throw mm.error(new UnsupportedException("MatMul with a 1-D operand has no GPU kernel (reshape it to 2-D first)"));
            long m = a[a.length - 2], k = a[a.length - 1], n = b[b.length - 1];
            if (b[b.length - 2] != k) throw mm.error(new UnsupportedException("MatMul inner dims differ: " + k + " vs " + b[b.length - 2]));
            return new Dims(m, n, k, Arrays.copyOf(y, y.length - 2), Arrays.copyOf(a, a.length - 2), Arrays.copyOf(b, b.length - 2));
        }
    }

    @Override public List<KernelSpec> emit(Node node, Graph graph, CodegenContext context) {
        FusedBody fb = FusedBody.of(node, Set.of("MatMul"));
        Node mm = fb.main();
        Dims d = Dims.of(mm);
        DType t = mm.input(0).dtype();
        if (mm.input(1).dtype() != t) throw node.error(new UnsupportedException("MatMul operands differ in dtype"));
        String entry = context.kernelName(name());
        boolean tensorCores = t == DType.F16 || t == DType.BF16;
        if (!tensorCores && t != DType.F32 && t != DType.F64)
            throw node.error(new UnsupportedException("MatMul on " + t + " has no GPU kernel yet"));
        int threads = tensorCores ? 128 : 256;
        CudaSource src = new CudaSource();
        fb.header(src, "matmul " + mm.input(0).type() + " x " + mm.input(1).type() + (tensorCores ? ", WMMA tensor cores" : ", SIMT tiles"));
        if (tensorCores) src.line("#include <mma.h>");
        src.line("");
        if (d.m() == 0 || d.n() == 0 || d.batches() == 0) return List.of(); // empty output: nothing to compute
        if (tensorCores) wmma(src, fb, d, t, entry); else simt(src, fb, d, t, entry);
        KernelSpec.Dim3 grid = KernelSpec.Dim3.of(Index.ceilDiv(d.n(), TILE), Index.ceilDiv(d.m(), TILE), Math.min(d.batches(), 65535));
        return List.of(new KernelSpec(entry, src.toString(), entry, grid, KernelSpec.Dim3.of(threads), 0, fb.params(), fb.origins()));
    }

    /** Shared prologue: constants and the batch loop header (the caller closes the loop). */
    private static CudaSource.Block batchLoop(CudaSource src, FusedBody fb, Dims d) {
        Node mm = fb.main();
        src.line("const long long M = %d, N = %d, K = %d;", d.m(), d.n(), d.k());
        CudaSource.Block loop = src.block("for (long long bz = blockIdx.z; bz < " + Index.ll(d.batches()) + "; bz += gridDim.z)");
        src.line("const long long aOff = %s, bOff = %s;", Index.batchOffset("bz", d.aBatch(), d.batch(), d.m() * d.k()),
                Index.batchOffset("bz", d.bBatch(), d.batch(), d.k() * d.n()));
        src.line("const %s* A = %s + aOff;", CTypes.storage(mm.input(0).dtype()), fb.in(mm.input(0)));
        src.line("const %s* B = %s + bOff;", CTypes.storage(mm.input(1).dtype()), fb.in(mm.input(1)));
        src.line("const long long row0 = (long long)blockIdx.y * %d, col0 = (long long)blockIdx.x * %d;", TILE, TILE);
        return loop;
    }

    /** 64x64x16 tiles, 256 threads as 16x16, thread (ty, tx) owns rows ty+16i and columns tx+16j. */
    private static void simt(CudaSource src, FusedBody fb, Dims d, DType t, String entry) {
        String acc = CTypes.compute(t); // float or double
        String zero = t == DType.F64 ? "0.0" : "0.0f";
        String fma = t == DType.F64 ? "fma" : "fmaf";
        try (var k = src.block(fb.signature(entry, 256))) {
            src.line("__shared__ %s As[16][%d + 4]; // As[k][m]", acc, TILE);
            src.line("__shared__ %s Bs[16][%d + 4]; // Bs[k][n]", acc, TILE);
            src.line("const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;");
            try (var loop = batchLoop(src, fb, d)) {
                src.line("%s c[4][4];", acc);
                src.line("#pragma unroll");
                src.line("for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) c[i][j] = %s;", zero);
                try (var kl = src.block("for (long long k0 = 0; k0 < K; k0 += 16)")) {
                    try (var l = src.block("for (int e = tid; e < 16 * " + TILE + "; e += 256)")) {
                        src.line("const int mm = e / 16, kk = e % 16;");
                        src.line("const long long gm = row0 + mm, gk = k0 + kk;");
                        src.line("As[kk][mm] = (gm < M && gk < K) ? (%s)%s : %s;", acc, CTypes.load(t, "A[gm * K + gk]"), zero);
                        src.line("const int kb = e / %d, nb = e %% %d;", TILE, TILE);
                        src.line("const long long gkb = k0 + kb, gn = col0 + nb;");
                        src.line("Bs[kb][nb] = (gkb < K && gn < N) ? (%s)%s : %s;", acc, CTypes.load(t, "B[gkb * N + gn]"), zero);
                    }
                    src.line("__syncthreads();");
                    src.line("#pragma unroll");
                    try (var kk = src.block("for (int kk = 0; kk < 16; kk++)")) {
                        src.line("%s a[4], b[4];", acc);
                        src.line("#pragma unroll");
                        src.line("for (int i = 0; i < 4; i++) { a[i] = As[kk][ty + 16 * i]; b[i] = Bs[kk][tx + 16 * i]; }");
                        src.line("#pragma unroll");
                        src.line("for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) c[i][j] = %s(a[i], b[j], c[i][j]);", fma);
                    }
                    src.line("__syncthreads();");
                }
                src.line("#pragma unroll");
                try (var i = src.block("for (int i = 0; i < 4; i++)")) {
                    src.line("#pragma unroll");
                    try (var j = src.block("for (int j = 0; j < 4; j++)")) {
                        src.line("const long long gm = row0 + ty + 16 * i, gn = col0 + tx + 16 * j;");
                        try (var in = src.block("if (gm < M && gn < N)")) {
                            src.line("const long long idx = bz * (M * N) + gm * N + gn;");
                            src.line("const %s acc = c[i][j];", acc);
                            fb.emitEpilogue(src, "acc", "idx");
                        }
                    }
                }
            }
        }
    }

    /** 64x64x32 tiles, 4 warps in 2x2, each 2x2 WMMA 16x16x16 fragments; accumulators go through shared memory. */
    private static void wmma(CudaSource src, FusedBody fb, Dims d, DType t, String entry) {
        String st = CTypes.storage(t);
        String zero = CTypes.store(t, "0.0f");
        src.line("using namespace nvcuda;");
        try (var k = src.block(fb.signature(entry, 128))) {
            src.line("__shared__ __align__(32) %s As[%d][32 + 8]; // As[m][k]", st, TILE);
            src.line("__shared__ __align__(32) %s Bs[32][%d + 8]; // Bs[k][n]", st, TILE);
            src.line("__shared__ __align__(32) float Cs[%d][%d + 4];", TILE, TILE);
            src.line("const int tid = threadIdx.x, warp = tid / 32, wm = (warp / 2) * 32, wn = (warp % 2) * 32;");
            try (var loop = batchLoop(src, fb, d)) {
                src.line("wmma::fragment<wmma::accumulator, 16, 16, 16, float> c[2][2];");
                src.line("for (int i = 0; i < 2; i++) for (int j = 0; j < 2; j++) wmma::fill_fragment(c[i][j], 0.0f);");
                try (var kl = src.block("for (long long k0 = 0; k0 < K; k0 += 32)")) {
                    try (var l = src.block("for (int e = tid; e < 32 * " + TILE + "; e += 128)")) {
                        src.line("const int mm = e / 32, kk = e % 32;");
                        src.line("const long long gm = row0 + mm, gk = k0 + kk;");
                        src.line("As[mm][kk] = (gm < M && gk < K) ? A[gm * K + gk] : %s;", zero);
                        src.line("const int kb = e / %d, nb = e %% %d;", TILE, TILE);
                        src.line("const long long gkb = k0 + kb, gn = col0 + nb;");
                        src.line("Bs[kb][nb] = (gkb < K && gn < N) ? B[gkb * N + gn] : %s;", zero);
                    }
                    src.line("__syncthreads();");
                    try (var kk = src.block("for (int kk = 0; kk < 32; kk += 16)")) {
                        src.line("wmma::fragment<wmma::matrix_a, 16, 16, 16, %s, wmma::row_major> a[2];", st);
                        src.line("wmma::fragment<wmma::matrix_b, 16, 16, 16, %s, wmma::row_major> b[2];", st);
                        src.line("for (int i = 0; i < 2; i++) wmma::load_matrix_sync(a[i], &As[wm + 16 * i][kk], 32 + 8);");
                        src.line("for (int j = 0; j < 2; j++) wmma::load_matrix_sync(b[j], &Bs[kk][wn + 16 * j], %d + 8);", TILE);
                        src.line("for (int i = 0; i < 2; i++) for (int j = 0; j < 2; j++) wmma::mma_sync(c[i][j], a[i], b[j], c[i][j]);");
                    }
                    src.line("__syncthreads();");
                }
                src.line("for (int i = 0; i < 2; i++) for (int j = 0; j < 2; j++)");
                src.line("  wmma::store_matrix_sync(&Cs[wm + 16 * i][wn + 16 * j], c[i][j], %d + 4, wmma::mem_row_major);", TILE);
                src.line("__syncthreads();");
                try (var e = src.block("for (int e = tid; e < " + TILE + " * " + TILE + "; e += 128)")) {
                    src.line("const int r = e / %d, q = e %% %d;", TILE, TILE);
                    src.line("const long long gm = row0 + r, gn = col0 + q;");
                    try (var in = src.block("if (gm < M && gn < N)")) {
                        src.line("const long long idx = bz * (M * N) + gm * N + gn;");
                        src.line("const float acc = Cs[r][q];");
                        fb.emitEpilogue(src, "acc", "idx");
                    }
                }
                src.line("__syncthreads(); // Cs is reused by the next batch entry");
            }
        }
    }
}
