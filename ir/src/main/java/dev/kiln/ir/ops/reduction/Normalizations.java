package dev.kiln.ir.ops.reduction;

import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.op.EvalContext;
import dev.kiln.ir.op.InferContext;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.Shapes;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The statistics-based normalizations: LayerNormalization, RMSNormalization, InstanceNormalization,
 * GroupNormalization (opset 21: per-channel scale and bias), MeanVarianceNormalization and LpNormalization.
 * All but MVN normalize contiguous rows (the trailing axes from {@code axis}, or one (n, channel) or
 * (n, group) block), so they share {@link #rowStats}. Statistics are computed in double with a two-pass
 * variance whatever {@code stash_type} says; stash_type only sets the dtype of LayerNormalization's Mean and
 * InvStdDev outputs. Outputs are rounded once into X's type.
 */
public final class Normalizations {
    private Normalizations() {}

    static final double DEFAULT_EPSILON = 1e-5;

    /** Per row of {@code n} contiguous elements: {mean, 1/sqrt(var + eps)}, or for RMS {0, 1/sqrt(mean(x^2) + eps)}. */
    static double[][] rowStats(double[] x, int rows, int n, double eps, boolean rms) {
        double[] mean = new double[rows], inv = new double[rows];
        for (int r = 0; r < rows; r++) {
            double s = 0;
            if (!rms) for (int k = 0; k < n; k++) s += x[r * n + k];
            double m = rms ? 0 : s / n, v = 0;
            for (int k = 0; k < n; k++) {
                double d = x[r * n + k] - m;
                v += d * d;
            }
            mean[r] = m;
            inv[r] = 1 / Math.sqrt(v / n + eps);
        }
        return new double[][] {mean, inv};
    }

    /** For each element of {@code xShape}, the index of the element of a parameter broadcast to it. */
    static int[] paramIndex(EvalContext c, Tensor p, long[] xShape, String what) {
        long[] b;
        try {
            b = Shapes.broadcast(p.shape(), xShape);
        } catch (dev.kiln.ir.ShapeException e) {
            b = null;
        }
        if (b == null || !Arrays.equals(b, xShape))
            throw c.error(what + " of shape " + Arrays.toString(p.shape()) + " does not broadcast to X " + Arrays.toString(xShape));
        return Shapes.broadcastIndex(p.shape(), xShape);
    }

    /** A per-channel parameter [C] seen as [C, 1, ..., 1] against X = [N, C, D...]. */
    static int[] channelIndex(EvalContext c, Tensor p, long[] xShape, String what) {
        long ch = xShape[1];
        if (p.rank() != 1 || p.dim(0) != ch)
            throw c.error(what + " must have shape [" + ch + "] (one per channel), has " + Arrays.toString(p.shape()));
        long[] s = new long[xShape.length - 1];
        Arrays.fill(s, 1);
        s[0] = ch;
        return Shapes.broadcastIndex(s, xShape);
    }

    /** y = (x - mean) * inv * scale + bias over rows, scale/bias by the given element maps (bias may be absent). */
    static Tensor affine(Tensor x, double[][] st, int n, Tensor scale, int[] si, Tensor bias, int[] bi) {
        double[] xs = x.toDoubles(), y = new double[xs.length];
        for (int j = 0; j < xs.length; j++) {
            int r = j / n;
            double v = (xs[j] - st[0][r]) * st[1][r] * scale.getDouble(si[j]);
            y[j] = bias == null ? v : v + bias.getDouble(bi[j]);
        }
        return Tensor.ofDoubles(x.dtype(), x.shape(), y);
    }

    private static double eps(EvalContext c) { return c.node().attrFloat("epsilon", DEFAULT_EPSILON); }

    private static void checkRankAtLeast(InferContext c, TensorType x, int rank) {
        if (x.shape().ranked() && x.rank() < rank) throw c.error("X must have rank " + rank + " or more, has " + x.rank());
    }

    // ---- LayerNormalization: X, Scale, [B] -> Y, [Mean], [InvStdDev]; axis, epsilon, stash_type ----

    public static OpDef.Builder layerNorm() {
        return OpDef.op("LayerNormalization").inputs(2, 3).outputs(1, 3)
                .check(Kernels::stashType)
                .infer(c -> {
                    TensorType x = Kernels.requireFloat(c, 0);
                    DType stash = Kernels.stashType(c.node());
                    Shape stats = Shape.UNRANKED;
                    if (x.shape().ranked()) {
                        int axis = AxisOps.axis(c, c.node().attrInt("axis", -1), x.rank());
                        List<Dim> d = new ArrayList<>(x.shape().dims().castToList());
                        for (int i = axis; i < d.size(); i++) d.set(i, Dim.of(1));
                        stats = Shape.of(d);
                    }
                    return List.of(x, new TensorType(stash, stats), new TensorType(stash, stats));
                })
                .eval(c -> {
                    Tensor x = c.input(0);
                    int axis = Shapes.axis(c.node().attrInt("axis", -1), x.rank());
                    Kernels.Split rows = Kernels.Split.rows(x.shape(), axis);
                    double[][] st = rowStats(x.toDoubles(), rows.outer(), rows.n(), eps(c), false);
                    Tensor b = c.input(2);
                    Tensor y = affine(x, st, rows.n(), c.input(1), paramIndex(c, c.input(1), x.shape(), "Scale"),
                            b, b == null ? null : paramIndex(c, b, x.shape(), "B"));
                    long[] statShape = x.shape();
                    for (int i = axis; i < statShape.length; i++) statShape[i] = 1;
                    DType stash = Kernels.stashType(c.node());
                    return List.of(y, Tensor.ofDoubles(stash, statShape, st[0]), Tensor.ofDoubles(stash, statShape, st[1]));
                });
    }

    // ---- RMSNormalization (opset 23): X, scale -> Y; axis, epsilon, stash_type ----

    public static OpDef.Builder rmsNorm() {
        return OpDef.op("RMSNormalization").inputs(2).outputs(1)
                .check(Kernels::stashType)
                .infer(c -> {
                    TensorType x = Kernels.requireFloat(c, 0);
                    if (x.shape().ranked()) AxisOps.axis(c, c.node().attrInt("axis", -1), x.rank());
                    return List.of(x);
                })
                .eval(c -> {
                    Tensor x = c.input(0);
                    Kernels.Split rows = Kernels.Split.rows(x.shape(), Shapes.axis(c.node().attrInt("axis", -1), x.rank()));
                    double[][] st = rowStats(x.toDoubles(), rows.outer(), rows.n(), eps(c), true);
                    return List.of(affine(x, st, rows.n(), c.input(1), paramIndex(c, c.input(1), x.shape(), "scale"), null, null));
                });
    }

    // ---- InstanceNormalization: X [N,C,D...], scale [C], B [C] -> Y; epsilon ----

    public static OpDef.Builder instanceNorm() {
        return OpDef.op("InstanceNormalization").inputs(3).outputs(1)
                .infer(c -> {
                    TensorType x = Kernels.requireFloat(c, 0);
                    checkRankAtLeast(c, x, 2);
                    return List.of(x);
                })
                .eval(c -> {
                    Tensor x = c.input(0);
                    if (x.rank() < 2) throw c.error("X must have rank 2 or more, has " + x.rank());
                    Kernels.Split rows = Kernels.Split.rows(x.shape(), 2);
                    double[][] st = rowStats(x.toDoubles(), rows.outer(), rows.n(), eps(c), false);
                    return List.of(affine(x, st, rows.n(), c.input(1), channelIndex(c, c.input(1), x.shape(), "scale"),
                            c.input(2), channelIndex(c, c.input(2), x.shape(), "B")));
                });
    }

    // ---- GroupNormalization (opset 21): X [N,C,D...], scale [C], bias [C] -> Y; num_groups, epsilon, stash_type ----

    public static OpDef.Builder groupNorm() {
        return OpDef.op("GroupNormalization").inputs(3).outputs(1)
                .check(n -> {
                    Kernels.stashType(n);
                    if (!n.hasAttr("num_groups")) throw n.error(new InvalidModelException("num_groups is required"));
                    if (n.attrInt("num_groups") <= 0)
                        throw n.error(new InvalidModelException("num_groups must be positive, is " + n.attrInt("num_groups")));
                })
                .infer(c -> {
                    TensorType x = Kernels.requireFloat(c, 0);
                    checkRankAtLeast(c, x, 2);
                    long g = c.node().attrInt("num_groups");
                    if (x.shape().ranked() && x.shape().dim(1).isStatic() && x.shape().dim(1).size() % g != 0)
                        throw c.error("num_groups " + g + " does not divide the " + x.shape().dim(1) + " channels");
                    return List.of(x);
                })
                .eval(c -> {
                    Tensor x = c.input(0);
                    long g = c.node().attrInt("num_groups"), ch = x.rank() < 2 ? 0 : x.dim(1);
                    if (x.rank() < 2 || ch % g != 0) throw c.error("num_groups " + g + " does not divide the channels of X " + Arrays.toString(x.shape()));
                    int rows = (int) (x.dim(0) * g), n = rows == 0 ? 0 : x.numel() / rows;
                    double[][] st = rowStats(x.toDoubles(), rows, n, eps(c), false);
                    return List.of(affine(x, st, Math.max(n, 1), c.input(1), channelIndex(c, c.input(1), x.shape(), "scale"),
                            c.input(2), channelIndex(c, c.input(2), x.shape(), "bias")));
                });
    }

    // ---- MeanVarianceNormalization: X -> (X - mean) / (sqrt(var) + 1e-9) over axes (default [0, 2, 3]) ----

    public static OpDef.Builder meanVarianceNorm() {
        return OpDef.op("MeanVarianceNormalization").inputs(1).outputs(1)
                .infer(c -> {
                    TensorType x = Kernels.requireFloat(c, 0);
                    if (x.shape().ranked()) Kernels.mask(mvnAxes(c.node()), x.rank(), c.node());
                    return List.of(x);
                })
                .eval(c -> {
                    Tensor x = c.input(0);
                    int[] g = Kernels.groups(x.shape(), Kernels.mask(mvnAxes(c.node()), x.rank(), c.node()));
                    double[] xs = x.toDoubles();
                    int m = 0;
                    for (int k : g) m = Math.max(m, k + 1);
                    double[] sum = new double[m], sq = new double[m];
                    long[] cnt = new long[m];
                    for (int j = 0; j < xs.length; j++) { sum[g[j]] += xs[j]; cnt[g[j]]++; }
                    for (int k = 0; k < m; k++) sum[k] /= cnt[k];
                    for (int j = 0; j < xs.length; j++) { double d = xs[j] - sum[g[j]]; sq[g[j]] += d * d; }
                    double[] y = new double[xs.length];
                    for (int j = 0; j < xs.length; j++) y[j] = (xs[j] - sum[g[j]]) / (Math.sqrt(sq[g[j]] / cnt[g[j]]) + 1e-9);
                    return List.of(Tensor.ofDoubles(x.dtype(), x.shape(), y));
                });
    }

    private static long[] mvnAxes(dev.kiln.ir.Node n) {
        long[] a = n.attrInts("axes");
        return a == null ? new long[] {0, 2, 3} : a;
    }

    // ---- LpNormalization: X -> X / ||X||_p along axis (default -1); p in {1, 2} (default 2) ----

    public static OpDef.Builder lpNorm() {
        return OpDef.op("LpNormalization").inputs(1).outputs(1)
                .check(n -> {
                    long p = n.attrInt("p", 2);
                    if (p != 1 && p != 2) throw n.error(new InvalidModelException("p must be 1 or 2, is " + p));
                })
                .infer(c -> {
                    TensorType x = Kernels.requireFloat(c, 0);
                    if (x.shape().ranked()) AxisOps.axis(c, c.node().attrInt("axis", -1), x.rank());
                    return List.of(x);
                })
                .eval(c -> {
                    Tensor x = c.input(0);
                    boolean l1 = c.node().attrInt("p", 2) == 1;
                    Kernels.Split sp = Kernels.Split.at(x.shape(), Shapes.axis(c.node().attrInt("axis", -1), x.rank()));
                    double[] xs = x.toDoubles(), y = new double[xs.length];
                    for (int o = 0; o < sp.outer(); o++)
                        for (int i = 0; i < sp.inner(); i++) {
                            double s = 0;
                            for (int k = 0; k < sp.n(); k++) {
                                double v = xs[sp.index(o, k, i)];
                                s += l1 ? Math.abs(v) : v * v;
                            }
                            double norm = l1 ? s : Math.sqrt(s);
                            for (int k = 0; k < sp.n(); k++) y[sp.index(o, k, i)] = xs[sp.index(o, k, i)] / norm;
                        }
                    return List.of(Tensor.ofDoubles(x.dtype(), x.shape(), y));
                });
    }
}
