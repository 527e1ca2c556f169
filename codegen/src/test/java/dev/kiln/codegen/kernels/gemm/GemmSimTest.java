package dev.kiln.codegen.kernels.gemm;

import dev.kiln.codegen.CodegenOptions;
import dev.kiln.ir.DType;
import dev.kiln.ir.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each engine path on the CPU simulator against a double-precision reference over the same strides, on small
 * odd and aligned shapes: both operand majors (so plain and transposed ldmatrix), cp.async and register
 * staging, split-K, batches with broadcast and view offsets. Inputs are multiples of 1/4 in [-1, 1], so every
 * product and partial sum is exact in fp32 and TF32: the only error left is the final rounding to the output
 * dtype, so the tolerance (relative, plus the same absolute) is f16 1e-3 (2^-11 rounding), bf16 8e-3
 * (2^-8), f32/TF32/f64 1e-6.
 */
class GemmSimTest {
    static final CodegenOptions OPT = CodegenOptions.defaults(), TF32 = new CodegenOptions(true, "sm_90");

    static double tol(DType t) { return t == DType.BF16 ? 8e-3 : t == DType.F16 ? 1e-3 : 1e-6; }

    /** A [m,k] (or [k,m] when !aK), B [k,n] (or [n,k] when bK), no batch. */
    static void dense(DType t, CodegenOptions o, long m, long n, long k, boolean aK, boolean bK, GemmConfig c) {
        Random r = new Random(m * 31 + n * 7 + k);
        GemmProblem p = GemmProblem.of(m, n, k, new long[0], StridedOperand.dense("in0", t, m, k, aK),
                StridedOperand.dense("in1", t, n, k, bK), o);
        GemmConfig cfg = c == null ? GemmHeuristic.choose(p) : c;
        assertNull(cfg.invalidReason(p));
        GemmSim.check(p, cfg, GemmSim.quarters(t, m * k, r), GemmSim.quarters(t, k * n, r), tol(t));
    }

    static GemmConfig mma(int bm, int bn, int bk, int wm, int wn, int stages, int split) {
        return new GemmConfig(GemmConfig.Path.MMA, bm, bn, bk, wm, wn, stages, split);
    }

    static GemmConfig simt(int bm, int bn, int bk, int warps, int stages, int split) {
        return new GemmConfig(GemmConfig.Path.SIMT, bm, bn, bk, warps, 1, stages, split);
    }

    static GemmConfig skinny(int bn, int bk, int warps, int split) {
        return new GemmConfig(GemmConfig.Path.SKINNY, 16, bn, bk, 1, warps, 1, split);
    }

    // ---- tensor cores

    @Test void f16AlignedTileWithCpAsync() { dense(DType.F16, OPT, 32, 64, 64, true, false, mma(32, 64, 32, 1, 2, 3, 1)); }

    @Test void f16TransposedOperandsUsePlainAndTransLdmatrix() {
        dense(DType.F16, OPT, 48, 32, 48, false, true, mma(32, 32, 16, 2, 1, 2, 1));
    }

    @Test void f16OddShapesStageThroughRegisters() {
        dense(DType.F16, OPT, 17, 7, 5, true, false, mma(16, 32, 16, 1, 2, 2, 1));
        dense(DType.F16, OPT, 3, 1, 40, false, true, mma(16, 32, 32, 1, 1, 3, 1));
    }

    @Test void bf16SplitKAcrossThreeBlocks() {
        dense(DType.BF16, OPT, 40, 24, 136, true, false, mma(32, 32, 32, 2, 1, 3, 3));
    }

    @Test void bf16UnevenSplitAndEdgeTiles() {
        dense(DType.BF16, OPT, 33, 72, 80, true, true, mma(32, 64, 16, 1, 2, 4, 2));
    }

    @Test void tf32BothMajorsAndSplitK() {
        dense(DType.F32, TF32, 20, 40, 24, true, false, mma(16, 32, 16, 1, 2, 2, 1));
        dense(DType.F32, TF32, 16, 32, 48, false, true, mma(16, 32, 16, 1, 1, 3, 2));
    }

    // ---- sliced-K (warp groups splitting each stage's k, summed through shared memory)

    static GemmConfig sliced(int bm, int bn, int bk, int wm, int wn, int wk, int stages, int split) {
        return new GemmConfig(GemmConfig.Path.MMA, bm, bn, bk, wm, wn, stages, split, wk);
    }

    @Test void slicedKTwoGroupsWithCpAsync() {
        dense(DType.F16, OPT, 32, 64, 128, true, false, sliced(32, 64, 64, 1, 2, 2, 3, 1));
        dense(DType.F16, OPT, 48, 32, 96, false, true, sliced(32, 32, 64, 2, 1, 2, 4, 1));
    }

    @Test void slicedKFourGroupsOddShapesThroughRegisters() {
        dense(DType.BF16, OPT, 19, 37, 75, true, false, sliced(32, 32, 64, 1, 2, 4, 3, 1));
        dense(DType.F16, OPT, 5, 9, 200, false, true, sliced(16, 32, 128, 1, 1, 4, 2, 1));
    }

    @Test void slicedKWithSplitKAndEdgeTiles() {
        dense(DType.F16, OPT, 40, 72, 300, true, false, sliced(32, 64, 64, 1, 2, 2, 4, 3));
        dense(DType.BF16, OPT, 33, 20, 170, true, true, sliced(16, 32, 32, 1, 2, 2, 3, 2));
    }

    @Test void slicedKTf32() {
        dense(DType.F32, TF32, 20, 40, 100, true, false, sliced(16, 32, 32, 1, 2, 2, 3, 2));
    }

    @Test void slicedKBatchedBroadcast() {
        DType t = DType.F16;
        long m = 17, n = 24, k = 72;
        Random r = new Random(6);
        StridedOperand a = new StridedOperand("in0", t, 0, new long[] {2, 3}, new long[] {m * k, 0}, m, k, k, 1);
        StridedOperand b = new StridedOperand("in1", t, 0, new long[] {2, 3}, new long[] {0, k * n}, n, 1, k, n);
        GemmProblem p = GemmProblem.of(m, n, k, new long[] {2, 3}, a, b, OPT);
        GemmSim.check(p, sliced(16, 32, 32, 1, 2, 2, 3, 2), GemmSim.quarters(t, 2 * m * k, r), GemmSim.quarters(t, 3 * k * n, r), tol(t));
    }

    // ---- CUDA cores

    @Test void f32SimtAlignedAndOdd() {
        dense(DType.F32, OPT, 33, 40, 36, true, false, simt(32, 64, 32, 2, 3, 1));
        dense(DType.F32, OPT, 5, 9, 3, false, true, simt(16, 64, 32, 2, 2, 1));
    }

    @Test void f32SimtSplitKWithATransposed() { dense(DType.F32, OPT, 30, 20, 100, false, false, simt(32, 64, 16, 2, 3, 4)); }

    @Test void f64SimtAndF16WithoutTensorCores() {
        dense(DType.F64, OPT, 9, 18, 20, true, false, simt(16, 64, 32, 2, 2, 2));
        dense(DType.F16, new CodegenOptions(false, "sm_75"), 10, 12, 24, true, true, simt(16, 64, 32, 2, 2, 1));
    }

    // ---- skinny

    @Test void skinnyGemvWithVectorLoadsAndSplitK() {
        dense(DType.F16, OPT, 1, 200, 300, true, false, skinny(64, 32, 2, 3));
        dense(DType.F32, OPT, 3, 24, 70, true, false, skinny(64, 32, 2, 1));
    }

    @Test void skinnyOddColumnsAndManyRowsLoadPerElement() {
        dense(DType.BF16, OPT, 16, 7, 21, false, false, skinny(64, 16, 2, 2));
        dense(DType.F64, OPT, 2, 9, 13, true, false, skinny(64, 16, 1, 1));
    }

    // ---- batches and views

    @Test void batchedBroadcastOperands() {
        // A has batch [2,1], B batch [3]: output batch [2,3], A broadcast over the 3, B over the 2
        DType t = DType.F16;
        long m = 17, n = 24, k = 40;
        Random r = new Random(5);
        StridedOperand a = new StridedOperand("in0", t, 0, new long[] {2, 3}, new long[] {m * k, 0}, m, k, k, 1);
        StridedOperand b = new StridedOperand("in1", t, 0, new long[] {2, 3}, new long[] {0, k * n}, n, 1, k, n);
        GemmProblem p = GemmProblem.of(m, n, k, new long[] {2, 3}, a, b, OPT);
        GemmSim.check(p, mma(16, 32, 16, 1, 2, 3, 1), GemmSim.quarters(t, 2 * m * k, r), GemmSim.quarters(t, 3 * k * n, r), tol(t));
    }

    @Test void headSplitViewsWithOffsetsReadOneProjection() {
        // qkv [S, 3, H, D]: per head h, Q_h [S, D] at offset h*D and K_h^T read k-contiguous at offset H*D + h*D
        DType t = DType.F16;
        long s = 24, h = 2, d = 16, row = 3 * h * d;
        Tensor qkv = GemmSim.quarters(t, s * row, new Random(9));
        StridedOperand q = new StridedOperand("in0", t, 0, new long[] {h}, new long[] {d}, s, row, d, 1);
        StridedOperand kt = new StridedOperand("in1", t, h * d, new long[] {h}, new long[] {d}, s, row, d, 1);
        GemmProblem p = GemmProblem.of(s, s, d, new long[] {h}, q, kt, OPT);
        assertTrue(p.asyncA() && p.asyncB(), "8-aligned views stage with cp.async");
        GemmSim.check(p, mma(16, 32, 16, 1, 2, 2, 1), qkv, qkv, tol(t));
        GemmSim.check(p, mma(32, 32, 16, 2, 2, 2, 2), qkv, qkv, tol(t)); // split-K: per-batch tile counters
    }

    @Test void oddOffsetViewFallsBackToRegisterStaging() {
        DType t = DType.F16;
        StridedOperand a = new StridedOperand("in0", t, 3, new long[0], new long[0], 20, 16, 16, 1);
        GemmProblem p = GemmProblem.of(20, 16, 16, new long[0], a, StridedOperand.dense("in1", t, 16, 16, false), OPT);
        assertEquals(false, p.asyncA(), "an offset of 3 elements breaks 16-byte alignment");
        Random r = new Random(2);
        GemmSim.check(p, mma(16, 16, 16, 1, 1, 2, 1), GemmSim.quarters(t, 20 * 16 + 3, r), GemmSim.quarters(t, 256, r), tol(t));
    }
}
