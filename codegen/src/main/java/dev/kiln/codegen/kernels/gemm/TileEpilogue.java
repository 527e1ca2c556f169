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
     * Emits the epilogue inside the batch loop ({@code bz}) of block (tile {@code blockIdx.x}, split
     * {@code blockIdx.y}) for the fragment {@code f} that {@code c.sliceThreads()} threads hold; every one of
     * the block's {@code c.threads()} threads reaches it (sliced-K's other slices too), the pipeline buffers idle;
     * a producer warpgroup ({@link GemmConfig#producerThreads}) has left, so the others sync by {@link #sync}.
     */
    static void emit(CudaSource src, GemmProblem p, GemmConfig c, Fragment f, GemmOutput out) {
        int splits = c.splits(p), threads = c.sliceThreads();
        String skip = p.batches() > MAX_GRID_Z ? "continue" : "return";
        String acc = p.math().acc();
        if (splits > 1) {
            long per = (long) f.registers() * threads;
            src.line("const long long kiln_tile = bz * %dLL + (blockIdx.x);", c.tilesM(p) * c.tilesN(p));
            src.line("%s* kiln_part = kiln_ws + kiln_tile * %dLL;", acc, per * splits);
            f.forEach(src, () -> src.line("kiln_part[(long long)(blockIdx.y) * %dLL + e_r * %d + threadIdx.x] = e_v;", per, threads));
            src.line("__threadfence();");
            src.line(sync(c));
            src.line("if (threadIdx.x == 0) kiln_last = atomicAdd(kiln_cnt + kiln_tile, 1) == %d;", splits - 1);
            src.line(sync(c));
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
        RunStaging runs = RunStaging.of(p, c, out);
        if (runs != null) {
            runs.emit(src, p, c, f, out);
            return;
        }
        f.forEach(src, () -> {
            try (var in = src.block("if (e_row < " + p.m() + "LL && e_col < " + p.n() + "LL)")) {
                out.store(src, "e_v", "bz", "e_row", "e_col");
            }
        });
    }

    /**
     * The run epilogue: the block's accumulator tile goes through shared memory (the idle pipeline buffers;
     * {@code chunks} passes of {@code rows} tile rows when the whole tile does not fit), row pitch {@code pitch}
     * accumulators (16 bytes of padding, so rows stay 16-byte aligned); then each thread takes runs of
     * {@code width} consecutive columns of one row, consecutive threads consecutive runs (coalesced), reads
     * them back as 16-byte vectors and hands them to {@link GemmOutput#storeRun}.
     */
    record RunStaging(int width, int rows, int chunks, int pitch) {
        /** At most this many passes; past it the per-element stores are as good. */
        static final int MAX_CHUNKS = 8;

        /** Runs per thread unrolled together. */
        static final int UNROLL = 4;

        /** The staging for this output, or null when the per-element stores must serve. */
        static RunStaging of(GemmProblem p, GemmConfig c, GemmOutput out) {
            int w = out.runWidth(), ab = p.math().accBytes();
            // the skinny path's threads already own runs of columns
            if (c.path() == GemmConfig.Path.SKINNY || w <= 1 || p.n() % w != 0 || c.bn() % w != 0) return null;
            int pitch = c.bn() + 16 / ab;
            long room = c.dataSharedBytes(p);
            for (int chunks = 1; chunks <= MAX_CHUNKS; chunks *= 2) {
                if (c.bm() % chunks != 0) break;
                int rows = c.bm() / chunks;
                if ((long) rows * pitch * ab <= room) return new RunStaging(w, rows, chunks, pitch);
            }
            return null;
        }

        void emit(CudaSource src, GemmProblem p, GemmConfig c, Fragment f, GemmOutput out) {
            String acc = p.math().acc();
            int perRow = c.bn() / width, units = rows * perRow, vec = 16 / p.math().accBytes();
            src.line("// run epilogue: the tile through shared memory, %d-column runs per thread (%d pass%s of %d rows)", width, chunks,
                    chunks == 1 ? "" : "es", rows);
            if (c.warpsK() > 1) src.line("__syncthreads(); // slice 0 is done reading the other slices' sums");
            src.line("%s* kiln_st = reinterpret_cast<%s*>(smem);", acc, acc);
            src.line("#pragma unroll 1");
            try (var q = src.block("for (int q = 0; q < " + chunks + "; q++)")) {
                if (chunks > 1) src.line("if (q > 0) %s // the last pass's reads are done", sync(c));
                f.forEach(src, () -> {
                    src.line("const int e_lr = (int)(e_row - row0) - q * %d;", rows);
                    String at = "kiln_st[e_lr * " + pitch + " + (int)(e_col - col0)] = e_v;";
                    if (chunks == 1) src.line(at);
                    else src.line("if ((unsigned)e_lr < %du) %s", rows, at);
                });
                src.line(sync(c));
                src.line("#pragma unroll %d", UNROLL); // several runs' loads in flight per thread
                try (var u = src.block("for (int u = threadIdx.x; u < " + units + "; u += " + (c.threads() - c.producerThreads()) + ")")) {
                    src.line("const int lr = u / %d, lc = u %% %d * %d;", perRow, perRow, width);
                    src.line("const long long row = row0 + q * %d + lr, col = col0 + lc;", rows);
                    java.util.List<String> edges = new java.util.ArrayList<>(); // only where the tiles cut the problem
                    if (p.m() % c.bm() != 0) edges.add("row < " + p.m() + "LL");
                    if (p.n() % c.bn() != 0) edges.add("col < " + p.n() + "LL");
                    try (var in = src.block(edges.isEmpty() ? "" : "if (" + String.join(" && ", edges) + ")")) {
                        src.line("__align__(16) %s kiln_v[%d];", acc, width);
                        String at = "kiln_st + lr * " + pitch + " + lc";
                        if (width == 2 * vec) {
                            // threads 4..7 of each group of 8 read their second half first: the 8 threads of one
                            // 16-byte access phase then cover all 32 banks once
                            src.line("const int kiln_s = (u >> 2) & 1;");
                            src.line("const uint4 kiln_a = *reinterpret_cast<const uint4*>(%s + kiln_s * %d), kiln_b = *reinterpret_cast<const uint4*>(%s + %d - kiln_s * %d);",
                                    at, vec, at, vec, vec);
                            src.line("*reinterpret_cast<uint4*>(kiln_v) = kiln_s ? kiln_b : kiln_a;");
                            src.line("*reinterpret_cast<uint4*>(kiln_v + %d) = kiln_s ? kiln_a : kiln_b;", vec);
                        } else {
                            for (int e = 0; e < width; e += vec)
                                src.line("*reinterpret_cast<uint4*>(kiln_v + %d) = *reinterpret_cast<const uint4*>(%s + %d);", e, at, e);
                        }
                        out.storeRun(src, "kiln_v", "bz", "row", "col", width);
                    }
                }
            }
            // a batch loop's next entry restages into these buffers
            if (p.batches() > MAX_GRID_Z) src.line(sync(c));
        }
    }

    static final long MAX_GRID_Z = 65535;

    /**
     * A barrier of the threads that run the epilogue: the whole block, or without the producer warpgroup
     * (which has returned) named barrier 1 over the others (barrier 0 is {@code __syncthreads}'s).
     */
    static String sync(GemmConfig c) {
        if (c.producerThreads() == 0) return "__syncthreads();";
        return "kiln_bar_sync<1, " + (c.threads() - c.producerThreads()) + ">();";
    }

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
