package dev.kiln.codegen.kernels.gemm;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.CudaSource;

/**
 * The one tiled main loop under the MMA and SIMT paths. Block {@code (x, y, z)} = (output tile, k split,
 * batch entry; entries past 65535 loop by {@code gridDim.z}); tiles are numbered in groups of
 * {@link #GROUP} tile rows so that blocks running together share A rows and B columns in L2.
 *
 * <p>Per block: a {@code stages}-deep ring of shared-memory buffers, each holding one BM x BK tile of A and
 * one BK x BN tile of B ({@link SmemTile}, {@link Staging}). The prologue issues the first stages-1 k tiles;
 * step kt waits until tile kt has landed ({@code cp.async.wait_group stages-2}), syncs the block (which also
 * tells every warp that the buffer read in step kt-1 is free), issues tile kt+stages-1 into that buffer, then
 * runs the {@link StageMath} on tile kt, so stages-1 tiles are in flight while one is computed. A
 * register-staged operand fetches tile kt+stages-1 into registers before the math and stores it into the free
 * buffer after it. Accumulators stay in registers; {@link TileEpilogue} does split-K and the stores.
 *
 * <p>Sliced-K ({@code warpsK > 1}, MMA): the block's warps form warpsK groups that stage together but each
 * compute their own k slice of every stage; after the loop, groups 1.. park their accumulators in the idle
 * staging buffers ({@code [slice-1][register][thread]}, conflict-free), group 0 adds them in slice order
 * (deterministic) and alone runs the epilogue, while every thread still takes part in its barriers.
 */
final class TiledKernel {
    private TiledKernel() {}

    static final int GROUP = 8;

    /** The arithmetic on one staged k tile: tensor cores ({@link MmaMath}) or CUDA cores ({@link SimtMath}). */
    interface StageMath {
        /** Kernel-scope declarations (warp and lane coordinates). */
        void prelude(CudaSource src);

        /** Declares the accumulators, zeroed (once per batch entry). */
        void declareAcc(CudaSource src);

        /** Accumulates one stage; {@code as}/{@code bs} are C pointers to its A and B tiles. */
        void compute(CudaSource src, String as, String bs);

        Fragment fragment();

        /** C expression of this thread's k slice (sliced-K); "0" when the math has none. */
        default String slice() { return "0"; }
    }

    static GemmKernels.Launch emit(CudaSource src, GemmProblem p, GemmConfig c, StageMath math, GemmOutput out, String entry) {
        String t = CTypes.storage(p.math().dtype);
        SmemTile ta = c.tileA(p), tb = c.tileB(p);
        boolean asyncA = p.asyncA(), asyncB = p.asyncB(), async = asyncA || asyncB;
        int threads = c.threads(), stages = c.stages(), splits = c.splits(p);
        long per = c.kTilesPerSplit(p), kTiles = c.kTiles(p), tilesM = c.tilesM(p), tilesN = c.tilesN(p);
        int aBytes = (ta.stageBytes() * stages + 127) / 128 * 128;
        Staging sa = new Staging("kiln_load_a", p.a(), ta, p.m(), p.k(), threads, asyncA);
        Staging sb = new Staging("kiln_load_b", p.b(), tb, p.n(), p.k(), threads, asyncB);
        sa.emitFunctions(src);
        sb.emitFunctions(src);
        src.line("");
        try (var k = src.block(out.signature(entry, threads + ", 1", TileEpilogue.params(p, splits)))) {
            src.line("KILN_DYNAMIC_SMEM(smem);");
            TileEpilogue.declare(src, splits, c.dataSharedBytes(p));
            src.line("%s* As = reinterpret_cast<%s*>(smem);", t, t);
            src.line("%s* Bs = reinterpret_cast<%s*>(smem + %d);", t, t, aBytes);
            tileCoords(src, tilesM, tilesN);
            src.line("const long long row0 = (long long)tm * %d, col0 = (long long)tn * %d;", c.bm(), c.bn());
            src.line("const int kt0 = blockIdx.y * %d, kt1 = min(%d, kt0 + %d);", per, kTiles, per);
            math.prelude(src);
            try (var batch = TileEpilogue.batchScope(src, p)) {
                src.line("const %s* A = %s + %s;", t, p.a().pointer(), p.a().batchOffset("bz"));
                src.line("const %s* B = %s + %s;", t, p.b().pointer(), p.b().batchOffset("bz"));
                math.declareAcc(src);
                sa.declare(src, "ra");
                sb.declare(src, "rb");
                // staging of k tile `kt` into buffer `buf`: issued (cp.async, or loads into registers), then finished
                java.util.function.BinaryOperator<String> issue = (buf, kt) -> sa.issue("As + " + buf + " * " + ta.stageElems(), "A", "row0",
                        "(long long)(" + kt + ") * " + c.bk(), "ra") + " " + sb.issue("Bs + " + buf + " * " + tb.stageElems(), "B", "col0",
                        "(long long)(" + kt + ") * " + c.bk(), "rb");
                java.util.function.UnaryOperator<String> finish = buf -> (sa.finish("As + " + buf + " * " + ta.stageElems(), "ra") + " "
                        + sb.finish("Bs + " + buf + " * " + tb.stageElems(), "rb")).trim();
                src.line("#pragma unroll");
                try (var pro = src.block("for (int s = 0; s < " + (stages - 1) + "; s++)")) {
                    src.line("if (kt0 + s < kt1) { %s %s }", issue.apply("s", "kt0 + s"), finish.apply("s"));
                    if (async) src.line("kiln_cp_async_commit();");
                }
                src.line("int rs = 0, ws = %d;", stages - 1);
                try (var loop = src.block("for (int kt = kt0; kt < kt1; kt++)")) {
                    if (async) src.line("kiln_cp_async_wait<%d>();", stages - 2);
                    src.line("__syncthreads();");
                    src.line("const bool more = kt + %d < kt1;", stages - 1);
                    src.line("if (more) { %s }", issue.apply("ws", "kt + " + (stages - 1)));
                    if (async) src.line("kiln_cp_async_commit();");
                    math.compute(src, "(As + rs * " + ta.stageElems() + ")", "(Bs + rs * " + tb.stageElems() + ")");
                    // register-staged tiles land after the math, into the buffer freed at this step's sync
                    if (!finish.apply("ws").isEmpty()) src.line("if (more) { %s }", finish.apply("ws"));
                    src.line("rs = rs == %d ? 0 : rs + 1;", stages - 1);
                    src.line("ws = ws == %d ? 0 : ws + 1;", stages - 1);
                }
                if (async) src.line("kiln_cp_async_wait<0>();");
                src.line("__syncthreads(); // the buffers are free for the next batch entry");
                Fragment f = math.fragment();
                if (c.warpsK() > 1) {
                    sumSlices(src, p, c, f, math.slice());
                    f = heldBy(f, math.slice() + " == 0");
                }
                TileEpilogue.emit(src, p, c, f, out);
            }
        }
        return GemmKernels.launch(p, c, tilesM * tilesN, splits);
    }

    /** Sliced-K: slices 1.. store their tiles to shared memory, slice 0 adds them in slice order 1, 2, ... */
    private static void sumSlices(CudaSource src, GemmProblem p, GemmConfig c, Fragment f, String ks) {
        int t0 = c.sliceThreads(), regs = f.registers();
        String acc = p.math().acc();
        src.line("%s* kiln_red = reinterpret_cast<%s*>(smem);", acc, acc);
        try (var park = src.block("if (" + ks + " > 0)")) {
            src.line("%s* kiln_mine = kiln_red + (%s - 1) * %d + (threadIdx.x %% %du);", acc, ks, regs * t0, t0);
            f.forEach(src, () -> src.line("kiln_mine[e_r * %d] = e_v;", t0));
        }
        src.line("__syncthreads();");
        try (var sum = src.block("if (" + ks + " == 0)")) {
            src.line("#pragma unroll");
            try (var q = src.block("for (int q = 0; q < " + (c.warpsK() - 1) + "; q++)")) {
                f.forEach(src, () -> src.line("e_v += kiln_red[q * %d + e_r * %d + threadIdx.x];", regs * t0, t0));
            }
        }
        // a batch loop's next entry restages into these buffers
        if (p.batches() > TileEpilogue.MAX_GRID_Z) src.line("__syncthreads();");
    }

    /** {@code f} with every use guarded by {@code cond}: only the threads holding the summed tile store it. */
    private static Fragment heldBy(Fragment f, String cond) {
        return new Fragment() {
            @Override public int registers() { return f.registers(); }

            @Override public void forEach(CudaSource src, Runnable body) {
                try (var b = src.block("if (" + cond + ")")) {
                    f.forEach(src, body);
                }
            }
        };
    }

    /** {@code tm}, {@code tn} of this block from blockIdx.x, grouped by {@link #GROUP} tile rows. */
    static void tileCoords(CudaSource src, long tilesM, long tilesN) {
        if (tilesM <= GROUP || tilesN == 1) {
            src.line("const int tm = blockIdx.x / %d, tn = blockIdx.x %% %d;", tilesN, tilesN);
            return;
        }
        src.line("const int g_first = blockIdx.x / %d * %d, g_in = blockIdx.x %% %d;", GROUP * tilesN, GROUP, GROUP * tilesN);
        src.line("const int g_size = min(%d - g_first, %d);", tilesM, GROUP);
        src.line("const int tm = g_first + g_in % g_size, tn = g_in / g_size;");
    }
}
