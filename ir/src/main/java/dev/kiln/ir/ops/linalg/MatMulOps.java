package dev.kiln.ir.ops.linalg;

import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.FloatFormats;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.op.InferContext;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.op.Shapes;
import dev.kiln.ir.op.Trait;

import java.util.List;

/** MatMul, Gemm, MatMulInteger and QLinearMatMul; the shared matmul lives in {@link MatMuls}. */
public final class MatMulOps {
    private MatMulOps() {}

    public static void register(OpRegistry.Builder r) {
        r.add(OpDef.op("MatMul").traits(Trait.REDUCTION).inputs(2).outputs(1)
                .infer(c -> {
                    TensorType a = numeric(c, 0), b = numeric(c, 1);
                    if (a.dtype() != b.dtype()) throw c.error("MatMul operands differ in dtype: " + a + " and " + b);
                    return List.of(new TensorType(a.dtype(), wrap(c, a.shape(), b.shape())));
                })
                .eval(c -> List.of(MatMuls.matmul(c.input(0), c.input(1)))));

        r.add(OpDef.op("Gemm").traits(Trait.REDUCTION).inputs(2, 3).outputs(1)
                .infer(c -> {
                    TensorType a = numeric(c, 0), b = numeric(c, 1);
                    if (a.dtype() != b.dtype()) throw c.error("Gemm operands differ in dtype: " + a + " and " + b);
                    Shape y = Shape.unknown(2);
                    if (a.shape().ranked() && b.shape().ranked()) {
                        if (a.rank() != 2 || b.rank() != 2) throw c.error("Gemm needs 2-D A and B, got " + a + " and " + b);
                        boolean ta = c.node().attrInt("transA", 0) != 0, tb = c.node().attrInt("transB", 0) != 0;
                        Dim m = a.shape().dim(ta ? 1 : 0), ka = a.shape().dim(ta ? 0 : 1);
                        Dim kb = b.shape().dim(tb ? 1 : 0), n = b.shape().dim(tb ? 0 : 1);
                        if (ka.isStatic() && kb.isStatic() && ka.size() != kb.size())
                            throw c.error("Gemm inner dimensions differ: " + a + " x " + b);
                        y = Shape.of(m, n);
                    }
                    if (c.hasInput(2)) {
                        TensorType cc = c.inputType(2);
                        if (cc.dtype() != a.dtype()) throw c.error("Gemm C is " + cc.dtype() + ", A is " + a.dtype());
                        if (cc.shape().ranked() && cc.rank() > 2) throw c.error("Gemm C must have rank <= 2, got " + cc);
                        if (y.ranked() && cc.shape().ranked() && !Shapes.broadcast(y, cc.shape()).equals(y)
                                && y.isStatic() && cc.shape().isStatic())
                            throw c.error("Gemm C " + cc.shape() + " does not broadcast to " + y);
                    }
                    return List.of(new TensorType(a.dtype(), y));
                })
                .eval(c -> List.of(gemm(c.node().attrInt("transA", 0) != 0, c.node().attrInt("transB", 0) != 0,
                        c.node().attrFloat("alpha", 1.0), c.node().attrFloat("beta", 1.0), c.input(0), c.input(1), c.input(2)))));

        r.add(OpDef.op("MatMulInteger").traits(Trait.REDUCTION).inputs(2, 4).outputs(1)
                .infer(c -> {
                    TensorType a = c.inputType(0), b = c.inputType(1);
                    for (int i = 0; i < 4; i++)
                        if (c.hasInput(i) && !eightBit(c.inputType(i).dtype()))
                            throw c.error("MatMulInteger input " + i + " must be int8 or uint8, got " + c.inputType(i));
                    return List.of(new TensorType(DType.I32, wrap(c, a.shape(), b.shape())));
                })
                .eval(c -> {
                    Tensor a = c.input(0), b = c.input(1);
                    MatMuls.Plan p = MatMuls.plan(a.shape(), b.shape());
                    long[] av = shifted(a, c.input(2), true), bv = shifted(b, c.input(3), false);
                    return List.of(Tensor.ofLongs(DType.I32, p.outShape(), MatMuls.run(p, av, bv)));
                }));

        r.add(OpDef.op("QLinearMatMul").traits(Trait.REDUCTION).inputs(8).outputs(1)
                .infer(c -> {
                    TensorType a = c.inputType(0), b = c.inputType(3);
                    DType y = c.inputType(7).dtype();
                    if (!eightBit(a.dtype()) || !eightBit(b.dtype()) || !eightBit(y))
                        throw c.error("QLinearMatMul supports int8/uint8 data only, got " + a + ", " + b + " and zero point " + y);
                    for (int i : new int[] {1, 4, 6})
                        if (!c.inputType(i).dtype().isFloat()) throw c.error("QLinearMatMul scale input " + i + " must be float");
                    return List.of(new TensorType(y, wrap(c, a.shape(), c.inputType(3).shape())));
                })
                .eval(c -> List.of(qlinear(c.input(0), c.input(1), c.input(2), c.input(3), c.input(4), c.input(5),
                        c.input(6), c.input(7)))));
    }

    private static TensorType numeric(InferContext c, int i) {
        TensorType t = c.inputType(i);
        if (!t.dtype().isFloat() && !t.dtype().isInteger()) throw c.error("input " + i + " must be numeric, got " + t);
        return t;
    }

    private static boolean eightBit(DType t) { return t == DType.I8 || t == DType.U8; }

    private static Shape wrap(InferContext c, Shape a, Shape b) {
        try {
            return MatMuls.shape(a, b);
        } catch (dev.kiln.ir.ShapeException e) {
            throw c.error(e.detail());
        }
    }

    /** Y = alpha * A' B' + beta * C, with C broadcast to [M,N]; for integer types alpha and beta truncate to integers. */
    static Tensor gemm(boolean ta, boolean tb, double alpha, double beta, Tensor a, Tensor b, Tensor cIn) {
        Tensor at = ta ? transpose(a) : a, bt = tb ? transpose(b) : b;
        MatMuls.Plan p = MatMuls.plan(at.shape(), bt.shape());
        long[] y = p.outShape();
        int[] ci = cIn == null ? null : Shapes.broadcastIndex(cIn.shape(), checkC(cIn.shape(), y));
        if (a.dtype().isFloat()) {
            double[] v = MatMuls.run(p, at.toDoubles(), bt.toDoubles());
            double[] cv = cIn == null ? null : cIn.toDoubles();
            for (int i = 0; i < v.length; i++) v[i] = alpha * v[i] + (cv == null ? 0 : beta * cv[ci[i]]);
            return Tensor.ofDoubles(a.dtype(), y, v);
        }
        long[] v = MatMuls.run(p, at.toLongs(), bt.toLongs());
        long[] cv = cIn == null ? null : cIn.toLongs();
        for (int i = 0; i < v.length; i++) v[i] = (long) alpha * v[i] + (cv == null ? 0 : (long) beta * cv[ci[i]]);
        return Tensor.ofLongs(a.dtype(), y, v);
    }

    private static long[] checkC(long[] c, long[] y) {
        if (!java.util.Arrays.equals(Shapes.broadcast(c, y), y))
            throw new dev.kiln.ir.ShapeException("Gemm C " + java.util.Arrays.toString(c) + " does not broadcast to "
                    + java.util.Arrays.toString(y));
        return y;
    }

    private static Tensor transpose(Tensor t) {
        if (t.rank() != 2) throw new dev.kiln.ir.ShapeException("Gemm needs 2-D operands, got rank " + t.rank());
        int r = (int) t.dim(0), k = (int) t.dim(1);
        if (t.dtype().isFloat()) {
            double[] s = t.toDoubles(), d = new double[s.length];
            for (int i = 0; i < r; i++) for (int j = 0; j < k; j++) d[j * r + i] = s[i * k + j];
            return Tensor.ofDoubles(t.dtype(), new long[] {k, r}, d);
        }
        long[] s = t.toLongs(), d = new long[s.length];
        for (int i = 0; i < r; i++) for (int j = 0; j < k; j++) d[j * r + i] = s[i * k + j];
        return Tensor.ofLongs(t.dtype(), new long[] {k, r}, d);
    }

    /**
     * The values of {@code x} minus its zero point: a scalar, a 1-D tensor per row of A ({@code rowWise}) or per
     * column of B, or an N-D tensor broadcast against {@code x}.
     */
    static long[] shifted(Tensor x, Tensor zp, boolean rowWise) {
        long[] v = x.toLongs();
        if (zp == null) return v;
        long[] zs = zp.shape();
        if (zp.numel() > 1 && zs.length == 1 && rowWise) {
            if (x.rank() < 2) throw new dev.kiln.ir.ShapeException("a per-row zero point needs A of rank >= 2");
            zs = new long[] {zs[0], 1};
        }
        int[] idx = Shapes.broadcastIndex(zs, checkC2(zs, x.shape()));
        long[] z = zp.toLongs();
        for (int i = 0; i < v.length; i++) v[i] -= z[idx[i]];
        return v;
    }

    private static long[] checkC2(long[] zp, long[] x) {
        if (!java.util.Arrays.equals(Shapes.broadcast(zp, x), x))
            throw new dev.kiln.ir.ShapeException("zero point of shape " + java.util.Arrays.toString(zp)
                    + " does not fit an operand of shape " + java.util.Arrays.toString(x));
        return x;
    }

    /**
     * rint(sum((a-za)(b-zb)) * (sa*sb/sy) + zy), saturated to the output type. The multiplier is rounded in the
     * scales' dtype after each step, as the ONNX reference computes it, so float16 scales give the same bytes.
     */
    static Tensor qlinear(Tensor a, Tensor sa, Tensor za, Tensor b, Tensor sb, Tensor zb, Tensor sy, Tensor zy) {
        for (Tensor s : new Tensor[] {sa, sb, sy, zy})
            if (s.numel() != 1)
                throw new dev.kiln.ir.UnsupportedException("QLinearMatMul supports per-tensor scales and output zero point only");
        MatMuls.Plan p = MatMuls.plan(a.shape(), b.shape());
        long[] acc = MatMuls.run(p, shifted(a, za, true), shifted(b, zb, false));
        DType st = sa.dtype();
        double mult = FloatFormats.round(st, FloatFormats.round(st, sa.getDouble(0) * sb.getDouble(0)) / sy.getDouble(0));
        DType yt = zy.dtype();
        long lo = yt == DType.I8 ? -128 : 0, hi = yt == DType.I8 ? 127 : 255;
        long[] y = new long[acc.length];
        for (int i = 0; i < y.length; i++) {
            double d = Math.rint(acc[i] * mult + zy.getLong(0));
            y[i] = (long) Math.max(lo, Math.min(hi, d));
        }
        return Tensor.ofLongs(yt, p.outShape(), y);
    }
}
