package dev.kiln.codegen.kernels.gemm;

import dev.kiln.codegen.CudaSource;

/**
 * After a main loop: the split-K reduction (when the config splits K) and the stores. Split-K is
 * deterministic: every block writes its partial sums to scratch as {@code [tile][split][register][thread]}
 * (coalesced: each thread its own column), fences, and bumps the tile's counter; the last block to arrive
 * sums all partials, its own included, in split order 0, 1, 2... (so the result does not depend on which
 * block came last; one split at a time, with all of a thread's loads of that split in flight),
 * resets the counter to 0 for the next launch, and runs the epilogue. Workspace parameters: {@code kiln_ws}
 * (partials, undefined on entry) and {@code kiln_cnt} (one int per tile, zero on entry and on exit).
 */
final class TileEpilogue {
    private TileEpilogue() {}

    /**
     * Emits the epilogue inside the batch loop ({@code bz}); {@code tile} is the C expression of this block's
     * tile within the batch entry, {@code split} its split, {@code tiles} the tiles per batch entry.
     */
    static void emit(CudaSource src, GemmProblem p, Fragment f, int splits, int threads, long tiles, String tile, String split, GemmOutput out) {
        String skip = p.batches() > MAX_GRID_Z ? "continue" : "return";
        String acc = p.math().acc();
        if (splits > 1) {
            long per = (long) f.registers() * threads;
            src.line("const long long kiln_tile = bz * %dLL + (%s);", tiles, tile);
            src.line("%s* kiln_part = kiln_ws + kiln_tile * %dLL;", acc, per * splits);
            f.forEach(src, () -> src.line("kiln_part[(long long)(%s) * %dLL + e_r * %d + threadIdx.x] = e_v;", split, per, threads));
            src.line("__threadfence();");
            src.line("__syncthreads();");
            src.line("if (threadIdx.x == 0) kiln_last = atomicAdd(kiln_cnt + kiln_tile, 1) == %d;", splits - 1);
            src.line("__syncthreads();");
            src.line("if (!kiln_last) %s;", skip);
            src.line("__threadfence();");
            // split by split (each split's loads all in flight), so the order of the sum is fixed
            f.forEach(src, () -> src.line("e_v = 0;"));
            src.line("#pragma unroll 1");
            try (var q = src.block("for (int q = 0; q < " + splits + "; q++)")) {
                f.forEach(src, () -> src.line("e_v += __ldcg(kiln_part + q * %dLL + e_r * %d + threadIdx.x);", per, threads));
            }
            src.line("if (threadIdx.x == 0) kiln_cnt[kiln_tile] = 0;");
        }
        f.forEach(src, () -> {
            try (var in = src.block("if (e_row < " + p.m() + "LL && e_col < " + p.n() + "LL)")) {
                out.store(src, "e_v", "bz", "e_row", "e_col");
            }
        });
    }

    static final long MAX_GRID_Z = 65535;

    /**
     * Opens the scope of one batch entry {@code bz}: the block's own ({@code blockIdx.z}) when the grid covers
     * every entry, else a loop striding by {@code gridDim.z}. (A loop the compiler cannot prove runs once makes
     * it hoist the main loop's address math out of it, costing dozens of registers.)
     */
    static CudaSource.Block batchScope(CudaSource src, GemmProblem p) {
        if (p.batches() > MAX_GRID_Z) return src.block("for (long long bz = blockIdx.z; bz < " + p.batches() + "LL; bz += gridDim.z)");
        CudaSource.Block b = src.block("");
        src.line("const long long bz = blockIdx.z;");
        return b;
    }

    /** The extra kernel parameters split-K needs (none without it). */
    static java.util.List<String> params(GemmProblem p, int splits) {
        return splits > 1 ? java.util.List.of(p.math().acc() + "* __restrict__ kiln_ws", "int* __restrict__ kiln_cnt") : java.util.List.of();
    }

    /** Declarations at kernel scope: the last-block flag, in dynamic shared memory past {@code offset} bytes. */
    static void declare(CudaSource src, int splits, int offset) {
        if (splits > 1) src.line("int& kiln_last = *reinterpret_cast<int*>(smem + %d);", offset);
    }
}
