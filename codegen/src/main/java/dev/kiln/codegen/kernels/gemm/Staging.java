package dev.kiln.codegen.kernels.gemm;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.CudaSource;

/**
 * Emits the device function that stages one operand's tile for one k step into shared memory, laid out as
 * {@link SmemTile} says: {@code void name(T* dst, const T* src, long long mn0, long long k0)}, called by all
 * threads of the block with the tile's origin. Two forms:
 * <ul>
 * <li>async: 16-byte {@code cp.async} chunks of 16/elemBytes elements along the contiguous axis, zero-filled
 *     past the edges; needs {@link GemmOperand#vectorizable} (sm_80+). Completes at the caller's wait.</li>
 * <li>register: one element per load, consecutive threads on consecutive elements of the contiguous axis,
 *     predicated on every bound; correct for any strides, sizes and alignment. Completes at once.</li>
 * </ul>
 */
final class Staging {
    private Staging() {}

    static void emitLoader(CudaSource src, String name, GemmOperand op, SmemTile tile, long mnSize, long kSize, int threads, boolean async) {
        String t = CTypes.storage(op.dtype());
        boolean kMajor = tile.major() == GemmOperand.Major.K;
        int vec = async ? 16 / tile.elemBytes() : 1;
        int along = (kMajor ? tile.bk() : tile.mn()) / vec, units = tile.mn() * tile.bk() / vec;
        int perThread = (units + threads - 1) / threads;
        try (var f = src.block("static __device__ __forceinline__ void " + name + "(" + t + "* __restrict__ dst, const " + t
                + "* __restrict__ src, long long mn0, long long k0)")) {
            src.line(perThread <= 8 ? "#pragma unroll" : "#pragma unroll 4");
            try (var l = src.block("for (int c = 0; c < " + perThread + "; c++)")) {
                src.line("const unsigned e = threadIdx.x + c * %du;", threads);
                if (units % threads != 0) src.line("if (e >= %du) break;", units);
                if (kMajor) src.line("const unsigned r = e / %du, kk = (e %% %du) * %du;", along, along, vec);
                else src.line("const unsigned kk = e / %du, r = (e %% %du) * %du;", along, along, vec);
                src.line("const long long gmn = mn0 + r, gk = k0 + kk;");
                String valid = op.valid("gmn", "gk");
                src.line("const bool ok = gmn < %dLL && gk < %dLL%s;", mnSize, kSize, valid == null ? "" : " && (" + valid + ")");
                String addr = "src + (" + op.mnOffset("gmn") + " + " + op.kOffset("gk") + ")";
                if (async) src.line("kiln_cp_async16(dst + %s, ok ? %s : src, ok);", tile.at("r", "kk"), addr);
                else src.line("dst[%s] = ok ? %s : %s;", tile.at("r", "kk"), "*(" + addr + ")", CTypes.store(op.dtype(), "0.0f"));
            }
        }
    }
}
