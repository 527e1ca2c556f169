package dev.kiln.ir.ops.linalg;

import dev.kiln.ir.Dim;
import dev.kiln.ir.Shape;
import dev.kiln.ir.ShapeException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.op.Shapes;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Numpy matmul shared by MatMul, MatMulInteger and QLinearMatMul: 1-D operands are promoted (a vector on the
 * left becomes a row, on the right a column, and the promoted axis is dropped from the result) and the batch
 * axes broadcast. Float products accumulate in double; integer products in wrapping 64-bit arithmetic.
 */
public final class MatMuls {
    private MatMuls() {}

    /** The result shape of matmul(a, b), static or symbolic; unranked if either operand is. */
    public static Shape shape(Shape a, Shape b) {
        if (!a.ranked() || !b.ranked()) return Shape.UNRANKED;
        int ra = a.rank(), rb = b.rank();
        if (ra == 0 || rb == 0) throw new ShapeException("matmul operands must have rank >= 1, got " + a + " and " + b);
        Dim ka = a.dim(ra - 1), kb = b.dim(rb == 1 ? 0 : rb - 2);
        if (ka.isStatic() && kb.isStatic() && ka.size() != kb.size())
            throw new ShapeException("matmul inner dimensions differ: " + a + " x " + b);
        List<Dim> aBatch = ra > 2 ? a.dims().castToList().subList(0, ra - 2) : List.of();
        List<Dim> bBatch = rb > 2 ? b.dims().castToList().subList(0, rb - 2) : List.of();
        List<Dim> out = new ArrayList<>(Shapes.broadcast(Shape.of(aBatch), Shape.of(bBatch)).dims().castToList());
        if (ra > 1) out.add(a.dim(ra - 2));
        if (rb > 1) out.add(b.dim(rb - 1));
        return Shape.of(out);
    }

    /**
     * How to run one matmul on concrete shapes: {@code batches} products of [m,k] x [k,n], the i-th reading
     * the operands at element offsets {@code aBase[i]} and {@code bBase[i]}.
     */
    public record Plan(long[] outShape, int batches, int m, int k, int n, int[] aBase, int[] bBase) {}

    public static Plan plan(long[] a, long[] b) {
        if (a.length == 0 || b.length == 0)
            throw new ShapeException("matmul operands must have rank >= 1, got " + Arrays.toString(a) + " and " + Arrays.toString(b));
        long[] a2 = a.length == 1 ? new long[] {1, a[0]} : a;
        long[] b2 = b.length == 1 ? new long[] {b[0], 1} : b;
        int m = (int) a2[a2.length - 2], k = (int) a2[a2.length - 1], n = (int) b2[b2.length - 1];
        if (b2[b2.length - 2] != k)
            throw new ShapeException("matmul inner dimensions differ: " + Arrays.toString(a) + " x " + Arrays.toString(b));
        long[] aBatch = Arrays.copyOf(a2, a2.length - 2), bBatch = Arrays.copyOf(b2, b2.length - 2);
        long[] batch = Shapes.broadcast(aBatch, bBatch);
        int[] ai = Shapes.broadcastIndex(aBatch, batch), bi = Shapes.broadcastIndex(bBatch, batch);
        for (int i = 0; i < ai.length; i++) { ai[i] *= m * k; bi[i] *= k * n; }
        long[] out = Arrays.copyOf(batch, batch.length + (a.length > 1 ? 1 : 0) + (b.length > 1 ? 1 : 0));
        int r = batch.length;
        if (a.length > 1) out[r++] = m;
        if (b.length > 1) out[r] = n;
        return new Plan(out, ai.length, m, k, n, ai, bi);
    }

    /** Float matmul, accumulated in double. */
    public static double[] run(Plan p, double[] a, double[] b) {
        double[] c = new double[p.batches * p.m * p.n];
        for (int t = 0; t < p.batches; t++) {
            int ao = p.aBase[t], bo = p.bBase[t], co = t * p.m * p.n;
            for (int i = 0; i < p.m; i++)
                for (int j = 0; j < p.n; j++) {
                    double s = 0;
                    for (int l = 0; l < p.k; l++) s += a[ao + i * p.k + l] * b[bo + l * p.n + j];
                    c[co + i * p.n + j] = s;
                }
        }
        return c;
    }

    /** Integer matmul in wrapping 64-bit arithmetic (exact for every integer type once narrowed). */
    public static long[] run(Plan p, long[] a, long[] b) {
        long[] c = new long[p.batches * p.m * p.n];
        for (int t = 0; t < p.batches; t++) {
            int ao = p.aBase[t], bo = p.bBase[t], co = t * p.m * p.n;
            for (int i = 0; i < p.m; i++)
                for (int j = 0; j < p.n; j++) {
                    long s = 0;
                    for (int l = 0; l < p.k; l++) s += a[ao + i * p.k + l] * b[bo + l * p.n + j];
                    c[co + i * p.n + j] = s;
                }
        }
        return c;
    }

    /** matmul of two tensors of one dtype, in that dtype. */
    public static Tensor matmul(Tensor a, Tensor b) {
        Plan p = plan(a.shape(), b.shape());
        if (a.dtype().isFloat()) return Tensor.ofDoubles(a.dtype(), p.outShape(), run(p, a.toDoubles(), b.toDoubles()));
        return Tensor.ofLongs(a.dtype(), p.outShape(), run(p, a.toLongs(), b.toLongs()));
    }
}
