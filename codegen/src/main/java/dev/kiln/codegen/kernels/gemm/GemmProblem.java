package dev.kiln.codegen.kernels.gemm;

import dev.kiln.codegen.CodegenOptions;

import java.util.Arrays;

/**
 * One (batched) contraction {@code C[b, m, n] = sum_k A[b, m, k] * B[b, k, n]}: sizes, the batch shape of the
 * output, how each operand is read, and the math. {@code sm} is the target's compute capability (90 for
 * sm_90) and {@code smCount} its number of multiprocessors: the heuristic fills them.
 */
public record GemmProblem(long m, long n, long k, long[] batch, GemmOperand a, GemmOperand b, GemmMath math, int sm, int smCount) {
    public GemmProblem {
        batch = batch.clone();
        if (m < 0 || n < 0 || k < 0) throw new IllegalArgumentException("negative GEMM size");
        if (a.dtype() != math.dtype || b.dtype() != math.dtype) throw new IllegalArgumentException("operand dtypes differ from the math " + math);
    }

    public static GemmProblem of(long m, long n, long k, long[] batch, GemmOperand a, GemmOperand b, CodegenOptions o) {
        int sm = smOf(o.arch());
        return new GemmProblem(m, n, k, batch, a, b, GemmMath.of(a.dtype(), o.allowTf32(), sm), sm, o.smCount());
    }

    /** 90 for "sm_90", 80 for "sm_80a"...; 90 when the arch string is not of that form. */
    public static int smOf(String arch) {
        String d = arch == null ? "" : arch.replaceAll("[^0-9]", "");
        return d.isEmpty() ? 90 : Integer.parseInt(d);
    }

    public long batches() {
        long p = 1;
        for (long d : batch) p *= d;
        return p;
    }

    /** Multiply-adds times two, over all batches. */
    public double flops() { return 2.0 * m * n * k * batches(); }

    /** Whether the inputs can be staged with 16-byte cp.async (else per-element register loads). */
    public boolean asyncA() { return sm >= 80 && a.vectorizable(16 / math.elemBytes()); }

    public boolean asyncB() { return sm >= 80 && b.vectorizable(16 / math.elemBytes()); }

    /** Largest dynamic shared memory one block may use on the target. */
    public int maxSharedBytes() {
        if (sm >= 90) return 227 * 1024;
        if (sm == 80 || sm == 87) return 163 * 1024;
        if (sm >= 86) return 99 * 1024;
        if (sm >= 70) return 96 * 1024;
        return 48 * 1024;
    }

    @Override public String toString() {
        return math + " " + (batch.length == 0 ? "" : Arrays.toString(batch) + " x ") + m + "x" + n + "x" + k
                + " (A " + a.major() + "-major, B " + b.major() + "-major)";
    }
}
