package dev.kiln.ir.ops.nn;

import dev.kiln.ir.Dim;
import dev.kiln.ir.Node;
import dev.kiln.ir.Shape;
import dev.kiln.ir.ShapeException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.op.EvalContext;
import dev.kiln.ir.op.InferContext;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.OpRegistry;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Conv and ConvTranspose (opset 22): X [N, C, D1..Dn]; Conv's W is [M, C/group, k1..kn], ConvTranspose's W is
 * [C, M/group, k1..kn]; optional bias B [M]. Products are accumulated in double and rounded once.
 */
public final class ConvOps {
    private ConvOps() {}

    public static void register(OpRegistry.Builder r) {
        r.add(OpDef.op("Conv").inputs(2, 3).outputs(1).check(ConvOps::checkGroup)
                .infer(ConvOps::inferConv).eval(ConvOps::conv));
        r.add(OpDef.op("ConvTranspose").inputs(2, 3).outputs(1).check(ConvOps::checkGroup)
                .infer(ConvOps::inferConvTranspose).eval(ConvOps::convTranspose));
    }

    static void checkGroup(Node n) {
        if (n.attrInt("group", 1) < 1) throw WindowSpec.bad(n, "group must be positive, not " + n.attrInt("group", 1));
    }

    /** The window of a conv node: kernel_shape, or the weight's spatial dims when that attribute is absent. */
    private static WindowSpec spec(Node n, int spatial, Shape w) {
        long[] kernel = n.attrInts("kernel_shape");
        if (kernel == null) {
            if (!w.ranked() || w.rank() != spatial + 2 || !w.isStatic()) return null;
            kernel = Arrays.copyOfRange(w.sizes(), 2, spatial + 2);
        }
        return WindowSpec.of(n, spatial, kernel, false, true);
    }

    static List<TensorType> inferConv(InferContext c) {
        TensorType x = c.inputType(0), w = c.inputType(1);
        if (!x.shape().ranked()) return List.of(x.withShape(Shape.UNRANKED));
        int spatial = spatialRank(c, x);
        long group = c.node().attrInt("group", 1);
        checkWeight(c, x, w, spatial);
        if (x.shape().dim(1).isStatic() && w.shape().ranked() && w.shape().dim(1).isStatic()
                && x.shape().dim(1).size() != w.shape().dim(1).size() * group)
            throw c.error("input has " + x.shape().dim(1) + " channels but weight " + w.shape() + " with group " + group
                    + " expects " + w.shape().dim(1).size() * group);
        if (w.shape().ranked() && w.shape().dim(0).isStatic() && w.shape().dim(0).size() % group != 0)
            throw c.error("weight's " + w.shape().dim(0) + " output channels are not divisible by group " + group);
        List<Dim> out = new ArrayList<>();
        out.add(x.shape().dim(0));
        out.add(w.shape().ranked() ? w.shape().dim(0) : Dim.UNKNOWN);
        WindowSpec s = spec(c.node(), spatial, w.shape());
        for (int d = 0; d < spatial; d++) out.add(s == null ? Dim.UNKNOWN : s.outDim(d, x.shape().dim(d + 2)));
        return List.of(x.withShape(Shape.of(out)));
    }

    private static int spatialRank(InferContext c, TensorType x) {
        if (x.rank() < 3) throw c.error("input " + x + " needs rank 3 or more (N, C, spatial...)");
        return x.rank() - 2;
    }

    private static void checkWeight(InferContext c, TensorType x, TensorType w, int spatial) {
        if (w.dtype() != x.dtype()) throw c.error("weight dtype " + w.dtype() + " differs from input dtype " + x.dtype());
        if (w.shape().ranked() && w.rank() != spatial + 2)
            throw c.error("weight " + w + " should have rank " + (spatial + 2) + " like the input");
        if (!x.dtype().isFloat()) throw c.error("convolution needs a floating-point input, not " + x.dtype());
    }

    static List<Tensor> conv(EvalContext c) {
        Tensor x = c.input(0), w = c.input(1), b = c.input(2);
        long[] xs = x.shape(), ws = w.shape();
        int spatial = xs.length - 2;
        long group = c.node().attrInt("group", 1);
        long n = xs[0], ch = xs[1], m = ws[0], cg = ch / group, mg = m / group;
        if (ws[1] * group != ch || m % group != 0)
            throw c.error("input " + Arrays.toString(xs) + " and weight " + Arrays.toString(ws) + " do not match group " + group);
        WindowSpec s = spec(c.node(), spatial, w.type().shape());
        if (!Arrays.equals(s.kernel(), Arrays.copyOfRange(ws, 2, ws.length)))
            throw c.error("kernel_shape " + Arrays.toString(s.kernel()) + " differs from the weight's " + Arrays.toString(ws));
        Window win = s.window(Arrays.copyOfRange(xs, 2, xs.length));
        double[] xv = x.toDoubles(), wv = w.toDoubles(), bv = b == null ? null : b.toDoubles();
        int inN = win.inNumel, outN = win.outNumel, kN = win.kernelNumel;
        double[] y = new double[Math.toIntExact(n * m * outN)];
        int[] inOff = new int[kN], kOff = new int[kN];
        for (int o = 0; o < outN; o++) {
            int taps = win.taps(o, inOff, kOff);
            for (long bi = 0; bi < n; bi++)
                for (long oc = 0; oc < m; oc++) {
                    long g = oc / mg;
                    double acc = bv == null ? 0 : bv[(int) oc];
                    for (long ic = 0; ic < cg; ic++) {
                        int xBase = (int) ((bi * ch + g * cg + ic) * inN), wBase = (int) ((oc * cg + ic) * kN);
                        for (int t = 0; t < taps; t++) acc += xv[xBase + inOff[t]] * wv[wBase + kOff[t]];
                    }
                    y[(int) ((bi * m + oc) * outN + o)] = acc;
                }
        }
        long[] ys = new long[xs.length];
        ys[0] = n;
        ys[1] = m;
        System.arraycopy(win.out, 0, ys, 2, spatial);
        return List.of(Tensor.ofDoubles(x.dtype(), ys, y));
    }

    // ---- ConvTranspose ----

    /** Output spatial sizes and begin pads of a ConvTranspose for static input sizes. */
    private record Transposed(long[] out, long[] padBegin) {}

    private static Transposed transposed(Node node, WindowSpec s, long[] in) {
        int r = s.rank();
        long[] outPad = WindowSpec.ints(node, "output_padding", r, 0);
        long[] shapeAttr = node.attrInts("output_shape");
        if (shapeAttr != null && shapeAttr.length == r + 2) shapeAttr = Arrays.copyOfRange(shapeAttr, 2, r + 2);
        if (shapeAttr != null && shapeAttr.length != r)
            throw WindowSpec.bad(node, "output_shape " + Arrays.toString(node.attrInts("output_shape")) + " should have " + r + " values");
        long[] out = new long[r], pb = new long[r];
        for (int d = 0; d < r; d++) {
            long full = s.strides()[d] * (in[d] - 1) + outPad[d] + s.span(d); // the output with no padding
            if (shapeAttr != null || s.autoPad().startsWith("SAME")) {
                out[d] = shapeAttr != null ? shapeAttr[d] : in[d] * s.strides()[d];
                long total = full - out[d];
                pb[d] = s.autoPad().equals("SAME_UPPER") ? Math.floorDiv(total, 2) : total - Math.floorDiv(total, 2);
            } else if (s.autoPad().equals("VALID")) {
                out[d] = full;
            } else {
                out[d] = full - s.pads()[d] - s.pads()[r + d];
                pb[d] = s.pads()[d];
            }
            if (out[d] < 1) throw node.error(new ShapeException("ConvTranspose output size " + out[d] + " on spatial axis " + d + " is not positive"));
        }
        return new Transposed(out, pb);
    }

    private static List<TensorType> inferConvTranspose(InferContext c) {
        TensorType x = c.inputType(0), w = c.inputType(1);
        if (!x.shape().ranked()) return List.of(x.withShape(Shape.UNRANKED));
        int spatial = spatialRank(c, x);
        long group = c.node().attrInt("group", 1);
        checkWeight(c, x, w, spatial);
        if (x.shape().dim(1).isStatic() && w.shape().ranked() && w.shape().dim(0).isStatic()
                && x.shape().dim(1).size() != w.shape().dim(0).size())
            throw c.error("input has " + x.shape().dim(1) + " channels but weight " + w.shape() + " expects " + w.shape().dim(0));
        List<Dim> out = new ArrayList<>();
        out.add(x.shape().dim(0));
        out.add(w.shape().ranked() && w.shape().dim(1).isStatic() ? Dim.of(w.shape().dim(1).size() * group) : Dim.UNKNOWN);
        WindowSpec s = spec(c.node(), spatial, w.shape());
        long[] in = WindowSpec.staticSizes(x.shape(), 2);
        if (s != null && in != null) {
            for (long o : transposed(c.node(), s, in).out()) out.add(Dim.of(o));
        } else {
            long[] attr = c.node().attrInts("output_shape");
            for (int d = 0; d < spatial; d++)
                out.add(attr != null && attr.length >= spatial ? Dim.of(attr[attr.length - spatial + d]) : Dim.UNKNOWN);
        }
        return List.of(x.withShape(Shape.of(out)));
    }

    private static List<Tensor> convTranspose(EvalContext c) {
        Tensor x = c.input(0), w = c.input(1), b = c.input(2);
        long[] xs = x.shape(), ws = w.shape();
        int spatial = xs.length - 2;
        long group = c.node().attrInt("group", 1);
        long n = xs[0], ch = xs[1], cg = ch / group, mg = ws[1], m = mg * group;
        if (ws[0] != ch || ch % group != 0)
            throw c.error("input " + Arrays.toString(xs) + " and weight " + Arrays.toString(ws) + " do not match group " + group);
        WindowSpec s = spec(c.node(), spatial, w.type().shape());
        long[] in = Arrays.copyOfRange(xs, 2, xs.length);
        Transposed t = transposed(c.node(), s, in);
        // scatter: input position i and tap k land on output i*stride + k*dilation - padBegin
        Window win = new Window(t.out(), in, s.kernel(), s.strides(), s.dilations(), t.padBegin(), new long[spatial]);
        double[] xv = x.toDoubles(), wv = w.toDoubles();
        int outN = win.inNumel, inN = win.outNumel, kN = win.kernelNumel;
        double[] y = new double[Math.toIntExact(n * m * outN)];
        int[] outOff = new int[kN], kOff = new int[kN];
        for (int i = 0; i < inN; i++) {
            int taps = win.taps(i, outOff, kOff);
            for (long bi = 0; bi < n; bi++)
                for (long ic = 0; ic < ch; ic++) {
                    long g = ic / cg;
                    double xval = xv[(int) ((bi * ch + ic) * inN + i)];
                    for (long oc = 0; oc < mg; oc++) {
                        int yBase = (int) ((bi * m + g * mg + oc) * outN), wBase = (int) ((ic * mg + oc) * kN);
                        for (int k = 0; k < taps; k++) y[yBase + outOff[k]] += xval * wv[wBase + kOff[k]];
                    }
                }
        }
        if (b != null)
            for (int j = 0; j < y.length; j++) y[j] += b.getDouble((int) (j / outN % m));
        long[] ys = new long[xs.length];
        ys[0] = n;
        ys[1] = m;
        System.arraycopy(t.out(), 0, ys, 2, spatial);
        return List.of(Tensor.ofDoubles(x.dtype(), ys, y));
    }
}
