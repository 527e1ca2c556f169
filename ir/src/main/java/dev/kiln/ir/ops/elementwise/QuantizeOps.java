package dev.kiln.ir.ops.elementwise;

import dev.kiln.ir.DType;
import dev.kiln.ir.FloatFormats;
import dev.kiln.ir.KilnException;
import dev.kiln.ir.Node;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.op.EvalContext;
import dev.kiln.ir.op.InferContext;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.op.Shapes;

import java.util.List;

/**
 * QuantizeLinear, DequantizeLinear (per-tensor, per-axis and blocked scales) and DynamicQuantizeLinear.
 * {@code x / scale} is computed in the scale's precision (or {@code precision}) as ONNX does, then rounded
 * half to even and saturated into the integer target; float8/float4 targets convert with Cast's rules.
 */
public final class QuantizeOps {
    private QuantizeOps() {}

    public static void register(OpRegistry.Builder r) {
        r.add(OpDef.op("QuantizeLinear").inputs(2, 3).outputs(1)
                .infer(c -> {
                    checkScale(c);
                    return List.of(c.inputType(0).withDType(quantizedType(c.node(), c.hasInput(2) ? c.inputType(2).dtype() : null, c)));
                })
                .eval(c -> List.of(quantize(c))));
        r.add(OpDef.op("DequantizeLinear").inputs(2, 3).outputs(1)
                .infer(c -> {
                    checkScale(c);
                    if (c.hasInput(2) && c.inputType(2).dtype() != c.inputType(0).dtype())
                        throw c.error("zero point is " + c.inputType(2).dtype() + " but x is " + c.inputType(0).dtype());
                    long od = c.node().attrInt("output_dtype", 0);
                    DType out = od == 0 ? c.inputType(1).dtype() : onnxType(c, od);
                    return List.of(c.inputType(0).withDType(out));
                })
                .eval(c -> List.of(dequantize(c))));
        r.add(OpDef.op("DynamicQuantizeLinear").inputs(1).outputs(3)
                .infer(c -> {
                    Ew.requireFloat(c, c.inputType(0).dtype());
                    return List.of(c.inputType(0).withDType(DType.U8), new TensorType(DType.F32, Shape.SCALAR),
                            new TensorType(DType.U8, Shape.SCALAR));
                })
                .eval(QuantizeOps::dynamic));
    }

    private static DType onnxType(InferContext c, long code) {
        try {
            return DType.fromOnnx((int) code);
        } catch (KilnException e) {
            throw c.error(e.detail());
        }
    }

    private static DType quantizedType(Node n, DType zp, InferContext c) {
        long od = n.attrInt("output_dtype", 0);
        DType attr = od == 0 ? null : onnxType(c, od);
        if (zp != null && attr != null && zp != attr)
            throw c.error("output_dtype " + attr + " disagrees with the zero point's type " + zp);
        DType t = zp != null ? zp : attr != null ? attr : DType.U8;
        if (!t.isInteger() && !(t.isFloat() && t.bits() <= 8) || t == DType.F8E8M0)
            throw c.error("cannot quantize to " + t);
        return t;
    }

    private static void checkScale(InferContext c) {
        Ew.requireFloat(c, c.inputType(1).dtype());
        long block = c.node().attrInt("block_size", 0);
        if (block < 0) throw c.error("block_size must not be negative, got " + block);
        Shape x = c.inputType(0).shape(), s = c.inputType(1).shape();
        if (!x.ranked() || !s.ranked() || s.rank() == 0) return;
        int axis = axis(c.node(), x.rank(), c::error);
        if (block == 0 && s.rank() == 1 && s.dim(0).isStatic() && s.dim(0).size() != 1 && x.dim(axis).isStatic()
                && s.dim(0).size() != x.dim(axis).size())
            throw c.error("per-axis scale has " + s.dim(0) + " entries but axis " + axis + " has size " + x.dim(axis));
        if (block > 0 && s.rank() != x.rank())
            throw c.error("blocked scale must have the rank of x (" + x.rank() + "), has " + s.rank());
    }

    private static int axis(Node n, int rank, java.util.function.Function<String, KilnException> err) {
        long a = n.attrInt("axis", 1);
        if (a < -rank || a >= rank) throw err.apply("axis " + a + " is out of range for rank " + rank);
        return (int) (a < 0 ? a + rank : a);
    }

    /** For each element of x, the index of its scale (and zero point): per-tensor, per-axis or blocked. */
    static int[] scaleIndex(EvalContext c, long[] x, Tensor scale) {
        int n = (int) Tensor.numel(x);
        int[] idx = new int[n];
        if (scale.numel() == 1) return idx;
        long block = c.node().attrInt("block_size", 0);
        int axis = axis(c.node(), x.length, c::error);
        long[] s = scale.shape();
        if (block == 0) {
            if (s.length != 1 || s[0] != x[axis]) throw c.error("per-axis scale of shape " + java.util.Arrays.toString(s)
                    + " does not match axis " + axis + " of x " + java.util.Arrays.toString(x));
        } else {
            boolean ok = s.length == x.length;
            for (int d = 0; ok && d < x.length; d++)
                ok = d == axis ? s[d] == (x[d] + block - 1) / block : s[d] == x[d];
            if (!ok) throw c.error("blocked scale of shape " + java.util.Arrays.toString(s) + " does not fit x "
                    + java.util.Arrays.toString(x) + " with block_size " + block + " on axis " + axis);
        }
        long[] xs = Shapes.strides(x), ss = Shapes.strides(s);
        for (int k = 0; k < n; k++) {
            long axisCoord = (k / xs[axis]) % x[axis];
            if (block == 0) idx[k] = (int) axisCoord;
            else {
                long rem = k, pos = 0;
                for (int d = 0; d < x.length; d++) {
                    long coord = rem / xs[d];
                    rem %= xs[d];
                    pos += (d == axis ? coord / block : coord) * ss[d];
                }
                idx[k] = (int) pos;
            }
        }
        return idx;
    }

    private static Tensor quantize(EvalContext c) {
        Tensor x = c.input(0), scale = c.input(1), zp = c.input(2);
        long od = c.node().attrInt("output_dtype", 0);
        DType t = zp != null ? zp.dtype() : od != 0 ? DType.fromOnnx((int) od) : DType.U8;
        long prec = c.node().attrInt("precision", 0);
        DType p = prec != 0 ? DType.fromOnnx((int) prec) : scale.dtype();
        boolean saturate = c.node().attrInt("saturate", 1) != 0;
        if (zp != null && zp.numel() != scale.numel()) throw c.error("zero point and scale differ in size");
        int[] si = scaleIndex(c, x.shape(), scale);
        int n = x.numel();
        if (t.isFloat()) {
            byte[] r = new byte[n];
            for (int k = 0; k < n; k++) {
                double v = FloatFormats.round(p, x.getDouble(k) / scale.getDouble(si[k]));
                if (zp != null) v += zp.getDouble(si[k]);
                r[k] = (byte) FloatFormats.encode(t, v, saturate);
            }
            return Tensor.ofBytes(t, x.shape(), r);
        }
        double lo = min(t), hi = max(t);
        double[] r = new double[n];
        for (int k = 0; k < n; k++) {
            double v = Math.rint(FloatFormats.round(p, x.getDouble(k) / scale.getDouble(si[k])));
            if (zp != null) v += zp.getDouble(si[k]);
            r[k] = Math.min(hi, Math.max(lo, v));
        }
        return Tensor.ofDoubles(t, x.shape(), r);
    }

    static double min(DType t) { return t.isUnsigned() ? 0 : -Math.scalb(1.0, t.bits() - 1); }
    static double max(DType t) { return t.isUnsigned() ? Math.scalb(1.0, t.bits()) - 1 : Math.scalb(1.0, t.bits() - 1) - 1; }

    private static Tensor dequantize(EvalContext c) {
        Tensor x = c.input(0), scale = c.input(1), zp = c.input(2);
        long od = c.node().attrInt("output_dtype", 0);
        DType out = od == 0 ? scale.dtype() : DType.fromOnnx((int) od);
        if (zp != null && zp.numel() != scale.numel()) throw c.error("zero point and scale differ in size");
        int[] si = scaleIndex(c, x.shape(), scale);
        double[] r = new double[x.numel()];
        for (int k = 0; k < r.length; k++)
            r[k] = (x.getDouble(k) - (zp == null ? 0 : zp.getDouble(si[k]))) * scale.getDouble(si[k]);
        return Tensor.ofDoubles(out, x.shape(), r);
    }

    /** ONNX's formula, each step in float32 as the function body computes it. */
    private static List<Tensor> dynamic(EvalContext c) {
        Tensor x = c.input(0);
        float lo = 0, hi = 0;
        boolean nan = false;
        for (int k = 0; k < x.numel(); k++) {
            float v = (float) x.getDouble(k);
            nan |= Float.isNaN(v);
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        if (nan) throw c.error("DynamicQuantizeLinear input contains NaN");
        float scale = (hi - lo) / 255f;
        float zpf = scale == 0 ? 0 : (float) Math.rint(Math.min(255f, Math.max(0f, 0f - lo / scale)));
        double[] y = new double[x.numel()];
        for (int k = 0; k < y.length; k++)
            y[k] = scale == 0 ? zpf : Math.min(255, Math.max(0, Math.rint((float) x.getDouble(k) / scale) + zpf));
        return List.of(Tensor.ofDoubles(DType.U8, x.shape(), y), Tensor.scalar(DType.F32, scale), Tensor.scalar(DType.U8, zpf));
    }
}
