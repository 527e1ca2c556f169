package dev.kiln.codegen.kernels.gemm;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.CudaSource;

import java.util.ArrayList;
import java.util.List;

/**
 * Stages one operand's tile for one k step into shared memory, laid out as {@link SmemTile} says. Every thread
 * of the block takes part; the tile's origin is (mn0, k0). Two forms:
 * <ul>
 * <li>async ({@link #async}): 16-byte {@code cp.async} chunks of 16/elemBytes elements along the contiguous
 *     axis, zero-filled past the edges; needs {@link GemmOperand#vectorizable} (sm_80+). One device function
 *     {@code NAME(T* dst, const T* src, long long mn0, long long k0)}; the copy completes at the caller's
 *     {@code cp.async.wait_group}.</li>
 * <li>register: one predicated element load per element, consecutive threads on consecutive elements of the
 *     contiguous axis; correct for any strides, sizes and alignment. Split in two so the loads overlap the
 *     math on the previous tile: {@code NAME_fetch(T (&v)[PER], src, mn0, k0)} into registers before it,
 *     {@code NAME_put(T* dst, const T (&v)[PER])} into shared memory after it.</li>
 * </ul>
 */
final class Staging {
    private final String name;
    private final GemmOperand op;
    private final SmemTile tile;
    private final long mnSize, kSize;
    private final int threads;
    final boolean async;

    Staging(String name, GemmOperand op, SmemTile tile, long mnSize, long kSize, int threads, boolean async) {
        this.name = name;
        this.op = op;
        this.tile = tile;
        this.mnSize = mnSize;
        this.kSize = kSize;
        this.threads = threads;
        this.async = async;
    }

    private int vec() { return async ? 16 / tile.elemBytes() : 1; }

    private int units() { return tile.mn() * tile.bk() / vec(); }

    /** Loads (chunks or elements) per thread and k step. */
    int perThread() { return (units() + threads - 1) / threads; }

    void emitFunctions(CudaSource src) {
        String t = CTypes.storage(op.dtype());
        if (async) {
            try (var f = src.block("static __device__ __forceinline__ void " + name + "(" + t + "* __restrict__ dst, const " + t
                    + "* __restrict__ src, long long mn0, long long k0)")) {
                forEachUnit(src, () -> src.line("kiln_cp_async16(dst + %s, ok ? %s : src, ok);", tile.at("r", "kk"), address()));
            }
            return;
        }
        try (var f = src.block("static __device__ __forceinline__ void " + name + "_fetch(" + t + " (&v)[" + perThread() + "], const " + t
                + "* __restrict__ src, long long mn0, long long k0)")) {
            forEachUnit(src, () -> src.line("v[c] = ok ? *(%s) : %s;", address(), CTypes.store(op.dtype(), "0.0f")));
        }
        try (var f = src.block("static __device__ __forceinline__ void " + name + "_put(" + t + "* __restrict__ dst, const " + t
                + " (&v)[" + perThread() + "])")) {
            src.line("#pragma unroll");
            try (var l = src.block("for (int c = 0; c < " + perThread() + "; c++)")) {
                coordinates(src);
                src.line("dst[%s] = v[c];", tile.at("r", "kk"));
            }
        }
    }

    /** Declares this thread's registers for a register-staged tile (none when async). */
    void declare(CudaSource src, String regs) {
        if (!async) src.line("%s %s[%d];", CTypes.storage(op.dtype()), regs, perThread());
    }

    /** Starts staging the tile at (mn0, k0): issues the cp.async, or fetches into {@code regs}. */
    String issue(String dst, String base, String mn0, String k0, String regs) {
        return async ? name + "(" + dst + ", " + base + ", " + mn0 + ", " + k0 + ");" : name + "_fetch(" + regs + ", " + base + ", " + mn0 + ", " + k0 + ");";
    }

    /** Finishes staging into shared memory: nothing for async, the stores of {@code regs} otherwise. */
    String finish(String dst, String regs) { return async ? "" : name + "_put(" + dst + ", " + regs + ");"; }

    private void coordinates(CudaSource src) {
        boolean kMajor = tile.major() == GemmOperand.Major.K;
        int along = (kMajor ? tile.bk() : tile.mn()) / vec();
        src.line("const unsigned e = threadIdx.x + c * %du;", threads);
        if (units() % threads != 0) src.line("if (e >= %du) break;", units());
        if (kMajor) src.line("const unsigned r = e / %du, kk = (e %% %du) * %du;", along, along, vec());
        else src.line("const unsigned kk = e / %du, r = (e %% %du) * %du;", along, along, vec());
    }

    /** The loop over this thread's units with {@code r}, {@code kk}, {@code gmn}, {@code gk} and {@code ok} defined. */
    private void forEachUnit(CudaSource src, Runnable body) {
        src.line(async && perThread() > 8 ? "#pragma unroll 4" : "#pragma unroll");
        try (var l = src.block("for (int c = 0; c < " + perThread() + "; c++)")) {
            coordinates(src);
            src.line("const long long gmn = mn0 + r, gk = k0 + kk;");
            // bounds that every tile satisfies (sizes that are multiples of the tile) are left out
            List<String> conds = new ArrayList<>();
            if (mnSize % tile.mn() != 0) conds.add("gmn < " + mnSize + "LL");
            if (kSize % tile.bk() != 0) conds.add("gk < " + kSize + "LL");
            String valid = op.valid("gmn", "gk");
            if (valid != null) conds.add("(" + valid + ")");
            src.line("const bool ok = %s;", conds.isEmpty() ? "true" : String.join(" && ", conds));
            body.run();
        }
    }

    private String address() { return "src + (" + op.mnOffset("gmn") + " + " + op.kOffset("gk") + ")"; }
}
