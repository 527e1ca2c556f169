package dev.kiln.ir.ops.nn;

import dev.kiln.ir.Dim;
import dev.kiln.ir.Node;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.op.EvalContext;
import dev.kiln.ir.op.InferContext;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.op.Shapes;
import dev.kiln.ir.op.Trait;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Resize (opset 19): inputs X, roi, scales, sizes (one of scales/sizes). Interpolation is separable: each resized
 * axis gets a table of (input index, weight) taps per output index, computed by the ONNX formulas (coordinate
 * transform, then nearest/linear/cubic coefficients around the left neighbour, optionally antialiased, edge-clamped,
 * exclude_outside renormalized), and the axes are applied one after another, last axis first, in double.
 */
public final class ResizeOp {
    private ResizeOp() {}

    static final Set<String> MODES = Set.of("nearest", "linear", "cubic");
    static final Set<String> TRANSFORMS = Set.of("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
            "align_corners", "asymmetric", "tf_crop_and_resize");
    static final Set<String> NEAREST_MODES = Set.of("round_prefer_floor", "round_prefer_ceil", "floor", "ceil");
    static final Set<String> POLICIES = Set.of("stretch", "not_larger", "not_smaller");

    public static void register(OpRegistry.Builder r) {
        r.add(OpDef.op("Resize").traits(Trait.MOVEMENT).inputs(1, 4).outputs(1).check(ResizeOp::check)
                .infer(ResizeOp::infer).eval(ResizeOp::eval));
    }

    private static void check(Node n) {
        oneOf(n, "mode", "nearest", MODES);
        oneOf(n, "coordinate_transformation_mode", "half_pixel", TRANSFORMS);
        oneOf(n, "nearest_mode", "round_prefer_floor", NEAREST_MODES);
        oneOf(n, "keep_aspect_ratio_policy", "stretch", POLICIES);
        for (String flag : List.of("antialias", "exclude_outside")) {
            long v = n.attrInt(flag, 0);
            if (v != 0 && v != 1) throw WindowSpec.bad(n, flag + " must be 0 or 1, not " + v);
        }
    }

    private static void oneOf(Node n, String attr, String dflt, Set<String> allowed) {
        String v = n.attrString(attr, dflt);
        if (!allowed.contains(v)) throw WindowSpec.bad(n, attr + " must be one of " + new java.util.TreeSet<>(allowed) + ", not '" + v + "'");
    }

    /** The resized axes (attribute axes, normalized, or all of them). */
    private static int[] axes(Node n, int rank) {
        long[] a = n.attrInts("axes");
        if (a == null) {
            int[] all = new int[rank];
            for (int i = 0; i < rank; i++) all[i] = i;
            return all;
        }
        int[] r = new int[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = Shapes.axis(a[i], rank);
            for (int j = 0; j < i; j++) if (r[j] == r[i]) throw WindowSpec.bad(n, "axes " + Arrays.toString(a) + " repeat an axis");
        }
        return r;
    }

    /** The scales or sizes input when present and non-empty (old exporters pass an empty tensor for "absent"). */
    private static boolean given(InferContext c, int i) {
        if (!c.hasInput(i)) return false;
        Shape s = c.inputType(i).shape();
        return !(s.ranked() && s.rank() == 1 && s.dim(0).isStatic() && s.dim(0).size() == 0);
    }

    /** Output sizes and per-axis scales (full rank) of a resize of {@code in}. */
    record Plan(long[] out, double[] scale) {}

    static Plan plan(Node n, long[] in, Tensor scales, Tensor sizes, java.util.function.Function<String, RuntimeException> err) {
        int rank = in.length;
        int[] axes = axes(n, rank);
        double[] scale = new double[rank];
        long[] out = in.clone();
        Arrays.fill(scale, 1.0);
        if (scales != null && scales.numel() > 0) {
            if (sizes != null && sizes.numel() > 0) throw err.apply("only one of scales and sizes may be given");
            if (scales.numel() != axes.length) throw err.apply("scales has " + scales.numel() + " values for " + axes.length + " axes");
            for (int i = 0; i < axes.length; i++) {
                double s = scales.getDouble(i);
                if (!(s > 0)) throw err.apply("scales must be positive, got " + s);
                scale[axes[i]] = s;
                out[axes[i]] = (long) Math.floor(s * in[axes[i]]);
            }
            return new Plan(out, scale);
        }
        if (sizes == null || sizes.numel() == 0) throw err.apply("one of scales and sizes must be given");
        if (sizes.numel() != axes.length) throw err.apply("sizes has " + sizes.numel() + " values for " + axes.length + " axes");
        for (int i = 0; i < axes.length; i++) {
            long s = sizes.getLong(i);
            if (s < 0) throw err.apply("sizes must not be negative, got " + s);
            out[axes[i]] = s;
            scale[axes[i]] = (double) s / in[axes[i]];
        }
        String policy = n.attrString("keep_aspect_ratio_policy", "stretch");
        if (!policy.equals("stretch")) {
            double common = policy.equals("not_larger") ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
            for (int a : axes) common = policy.equals("not_larger") ? Math.min(common, scale[a]) : Math.max(common, scale[a]);
            for (int a : axes) {
                scale[a] = common;
                out[a] = (long) (common * in[a] + 0.5); // round half up
            }
        }
        return new Plan(out, scale);
    }

    private static List<TensorType> infer(InferContext c) {
        TensorType x = c.inputType(0);
        if (!x.shape().ranked()) return List.of(x);
        int rank = x.rank();
        int[] axes = axes(c.node(), rank);
        boolean hasScales = given(c, 2), hasSizes = given(c, 3);
        if (hasScales == hasSizes) throw c.error("exactly one of scales and sizes must be given");
        Tensor scales = hasScales ? c.constantInput(2) : null, sizes = hasSizes ? c.constantInput(3) : null;
        if (scales != null && scales.numel() != axes.length)
            throw c.error("scales has " + scales.numel() + " values for " + axes.length + " axes");
        long[] in = WindowSpec.staticSizes(x.shape(), 0);
        List<Dim> dims = new ArrayList<>(x.shape().dims().castToList());
        if (in != null && (scales != null || sizes != null)) {
            long[] out = plan(c.node(), in, scales, sizes, c::error).out();
            for (int a : axes) dims.set(a, Dim.of(out[a]));
        } else if (sizes != null && c.node().attrString("keep_aspect_ratio_policy", "stretch").equals("stretch")) {
            if (sizes.numel() != axes.length) throw c.error("sizes has " + sizes.numel() + " values for " + axes.length + " axes");
            for (int i = 0; i < axes.length; i++) dims.set(axes[i], Dim.of(sizes.getLong(i)));
        } else {
            for (int i = 0; i < axes.length; i++) {
                Dim d = dims.get(axes[i]);
                boolean same = scales != null && scales.getDouble(i) == 1.0;
                if (!same) dims.set(axes[i], d.isStatic() && scales != null ? Dim.of((long) Math.floor(scales.getDouble(i) * d.size())) : Dim.UNKNOWN);
            }
        }
        return List.of(x.withShape(Shape.of(dims)));
    }

    private static List<Tensor> eval(EvalContext c) {
        Tensor x = c.input(0);
        Node n = c.node();
        long[] in = x.shape();
        int rank = in.length;
        Plan plan = plan(n, in, c.input(2), c.input(3), c::error);
        int[] axes = axes(n, rank);
        double[] roi = roi(c, axes, rank);
        double[] v = x.toDoubles();
        long[] shape = in.clone();
        for (int k = axes.length - 1; k >= 0; k--) {
            int a = axes[k];
            Taps taps = Taps.of(n, in[a], plan.out()[a], plan.scale()[a], roi == null ? null : new double[] {roi[a], roi[rank + a]});
            v = apply(v, shape, a, taps);
            shape[a] = plan.out()[a];
        }
        return List.of(Tensor.ofDoubles(x.dtype(), shape, v));
    }

    /** roi as [start_0..start_{r-1}, end_0..end_{r-1}] over all axes (0 and 1 where not resized), or null. */
    private static double[] roi(EvalContext c, int[] axes, int rank) {
        boolean crop = c.node().attrString("coordinate_transformation_mode", "half_pixel").equals("tf_crop_and_resize");
        if (!crop) return null;
        Tensor t = c.input(1);
        if (t == null || t.numel() == 0) throw c.error("tf_crop_and_resize needs the roi input");
        if (t.numel() != 2 * axes.length) throw c.error("roi has " + t.numel() + " values, " + 2 * axes.length + " expected");
        double[] r = new double[2 * rank];
        Arrays.fill(r, rank, 2 * rank, 1.0);
        for (int i = 0; i < axes.length; i++) {
            r[axes[i]] = t.getDouble(i);
            r[rank + axes[i]] = t.getDouble(axes.length + i);
        }
        return r;
    }

    /** Resizes axis {@code a} of a row-major tensor of {@code shape} by the taps. */
    private static double[] apply(double[] v, long[] shape, int a, Taps taps) {
        int outer = (int) Tensor.numel(Arrays.copyOfRange(shape, 0, a));
        int inner = (int) Tensor.numel(Arrays.copyOfRange(shape, a + 1, shape.length));
        int inLen = (int) shape[a], outLen = taps.index.length;
        double[] r = new double[outer * outLen * inner];
        for (int o = 0; o < outer; o++)
            for (int x = 0; x < outLen; x++)
                for (int i = 0; i < inner; i++) {
                    double acc;
                    if (taps.index[x] == null) acc = taps.extrapolation;
                    else {
                        acc = 0;
                        for (int t = 0; t < taps.index[x].length; t++)
                            acc += taps.weight[x][t] * v[(o * inLen + taps.index[x][t]) * inner + i];
                    }
                    r[(o * outLen + x) * inner + i] = acc;
                }
        return r;
    }
}
