package dev.kiln.ir.ops.reduction;

import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.Node;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.op.InferContext;
import dev.kiln.ir.op.Shapes;

import java.util.ArrayList;
import java.util.List;

/**
 * Loops and numeric helpers shared by the reduction and normalization families: the outer/axis/inner split
 * of a shape around one axis, the output group of every element of a multi-axis reduction, integer bounds
 * and orderings (signed, unsigned, bool), and the dtype checks every shape rule starts with.
 */
public final class Kernels {
    private Kernels() {}

    /** A shape seen as {@code [outer, n, inner]} around one axis: element (o, k, i) is at {@code (o*n + k)*inner + i}. */
    public record Split(int outer, int n, int inner) {
        public static Split at(long[] shape, int axis) {
            long outer = 1, inner = 1;
            for (int i = 0; i < axis; i++) outer *= shape[i];
            for (int i = axis + 1; i < shape.length; i++) inner *= shape[i];
            return new Split((int) outer, (int) shape[axis], (int) inner);
        }

        /** Rows of the trailing axes {@code [axis, rank)}: {@code outer} rows of {@code n} contiguous elements. */
        public static Split rows(long[] shape, int axis) {
            long outer = 1, n = 1;
            for (int i = 0; i < axis; i++) outer *= shape[i];
            for (int i = axis; i < shape.length; i++) n *= shape[i];
            return new Split((int) outer, (int) n, 1);
        }

        public int index(int o, int k, int i) { return (o * n + k) * inner + i; }
    }

    /**
     * For each element of {@code shape}, the linear index of its group in the keepdims output of a reduction
     * over the axes marked in {@code reduced}.
     */
    public static int[] groups(long[] shape, boolean[] reduced) {
        int rank = shape.length;
        long[] outShape = keepShape(shape, reduced);
        long[] outStrides = Shapes.strides(outShape);
        long[] eff = new long[rank];
        for (int a = 0; a < rank; a++) eff[a] = reduced[a] ? 0 : outStrides[a];
        int n = (int) Tensor.numel(shape);
        int[] g = new int[n];
        int[] counter = new int[rank];
        long pos = 0;
        for (int k = 0; k < n; k++) {
            g[k] = (int) pos;
            for (int a = rank - 1; a >= 0; a--) {
                counter[a]++;
                pos += eff[a];
                if (counter[a] < shape[a]) break;
                pos -= eff[a] * counter[a];
                counter[a] = 0;
            }
        }
        return g;
    }

    /** The shape with every reduced axis set to 1. */
    public static long[] keepShape(long[] shape, boolean[] reduced) {
        long[] out = shape.clone();
        for (int a = 0; a < out.length; a++) if (reduced[a]) out[a] = 1;
        return out;
    }

    /** The shape without the reduced axes. */
    public static long[] dropShape(long[] shape, boolean[] reduced) {
        List<Long> out = new ArrayList<>();
        for (int a = 0; a < shape.length; a++) if (!reduced[a]) out.add(shape[a]);
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    /** A symbolic shape with the reduced axes set to 1 (keepdims) or dropped. */
    public static Shape reduceShape(Shape s, boolean[] reduced, boolean keep) {
        List<Dim> dims = new ArrayList<>();
        for (int a = 0; a < reduced.length; a++) {
            if (!reduced[a]) dims.add(s.dim(a));
            else if (keep) dims.add(Dim.of(1));
        }
        return Shape.of(dims);
    }

    /** Marks normalized axes; duplicate axes are an error. */
    public static boolean[] mask(long[] axes, int rank, Node n) {
        boolean[] m = new boolean[rank];
        for (long a : axes) {
            int i = Shapes.axis(a, rank);
            if (m[i]) throw n.error(new dev.kiln.ir.ShapeException("axis " + a + " is repeated in axes"));
            m[i] = true;
        }
        return m;
    }

    // ---- integers: bool and unsigned types order as unsigned; u64 values are their bit pattern ----

    public static boolean unsigned(DType t) { return t.isUnsigned() || t.isBool(); }

    public static int compare(DType t, long a, long b) { return unsigned(t) ? Long.compareUnsigned(a, b) : Long.compare(a, b); }

    /** The smallest value of an integer or bool type. */
    public static long minOf(DType t) {
        if (unsigned(t)) return 0;
        return t.bits() == 64 ? Long.MIN_VALUE : -(1L << (t.bits() - 1));
    }

    /** The largest value of an integer or bool type (u64: all ones). */
    public static long maxOf(DType t) {
        if (t.isBool()) return 1;
        if (t.isUnsigned()) return t.bits() == 64 ? -1L : (1L << t.bits()) - 1;
        return t.bits() == 64 ? Long.MAX_VALUE : (1L << (t.bits() - 1)) - 1;
    }

    /** Numpy order of floats: NaN above everything, NaNs equal to each other; -0 equals +0. */
    public static int compareFloat(double a, double b) {
        boolean na = Double.isNaN(a), nb = Double.isNaN(b);
        if (na || nb) return na == nb ? 0 : na ? 1 : -1;
        return a < b ? -1 : a > b ? 1 : 0;
    }

    /** Compares elements i and j of one tensor in the dtype's own order. */
    public static int compare(Tensor t, int i, int j) {
        return t.dtype().isFloat() ? compareFloat(t.getDouble(i), t.getDouble(j)) : compare(t.dtype(), t.getLong(i), t.getLong(j));
    }

    // ---- dtype checks for shape rules ----

    public static TensorType requireFloat(InferContext c, int input) {
        TensorType t = c.inputType(input);
        if (!t.dtype().isFloat()) throw c.error("input " + input + " must be a float tensor, not " + t.dtype());
        return t;
    }

    /** Integer or float (and bool when {@code boolOk}). */
    public static TensorType requireNumeric(InferContext c, int input, boolean boolOk) {
        TensorType t = c.inputType(input);
        DType d = t.dtype();
        if (!(d.isFloat() || d.isInteger() || boolOk && d.isBool()))
            throw c.error("input " + input + " must be a numeric tensor" + (boolOk ? " or bool" : "") + ", not " + d);
        return t;
    }

    /** A float dtype from an ONNX stash_type code (float32 when absent). */
    public static DType stashType(Node n) {
        long code = n.attrInt("stash_type", DType.F32.onnxCode());
        DType d;
        try {
            d = DType.fromOnnx((int) code);
        } catch (dev.kiln.ir.KilnException e) {
            d = null;
        }
        if (d == null || !d.isFloat() || code != (int) code)
            throw n.error(new dev.kiln.ir.InvalidModelException("stash_type " + code + " is not an ONNX float type code"));
        return d;
    }
}
