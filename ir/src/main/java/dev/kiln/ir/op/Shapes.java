package dev.kiln.ir.op;

import dev.kiln.ir.Dim;
import dev.kiln.ir.Shape;
import dev.kiln.ir.ShapeException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Shape arithmetic shared by op definitions: numpy broadcasting (static and symbolic), strides, axes. */
public final class Shapes {
    private Shapes() {}

    /** Numpy broadcast of symbolic shapes; unranked if any input is unranked. */
    public static Shape broadcast(Shape... shapes) {
        int rank = 0;
        for (Shape s : shapes) {
            if (!s.ranked()) return Shape.UNRANKED;
            rank = Math.max(rank, s.rank());
        }
        List<Dim> out = new ArrayList<>();
        for (int i = 0; i < rank; i++) {
            Dim d = Dim.of(1);
            for (Shape s : shapes) {
                int j = i - (rank - s.rank());
                if (j < 0) continue;
                d = broadcastDim(d, s.dim(j), shapes);
            }
            out.add(d);
        }
        return Shape.of(out);
    }

    private static Dim broadcastDim(Dim a, Dim b, Shape[] all) {
        if (a.equals(b)) return a;
        if (a.isStatic() && a.size() == 1) return b;
        if (b.isStatic() && b.size() == 1) return a;
        if (a.isStatic() && b.isStatic())
            throw new ShapeException("shapes " + Arrays.toString(all) + " do not broadcast (" + a + " vs " + b + ")");
        // a symbolic dim against a static one > 1 must equal it for the model to be valid
        if (a.isStatic()) return a;
        if (b.isStatic()) return b;
        return Dim.UNKNOWN;
    }

    /** Numpy broadcast of concrete shapes. */
    public static long[] broadcast(long[]... shapes) {
        int rank = 0;
        for (long[] s : shapes) rank = Math.max(rank, s.length);
        long[] out = new long[rank];
        Arrays.fill(out, 1);
        for (long[] s : shapes) {
            for (int j = 0; j < s.length; j++) {
                int i = j + rank - s.length;
                if (s[j] == out[i] || s[j] == 1) continue;
                if (out[i] == 1) out[i] = s[j];
                else throw new ShapeException("shapes " + toString(shapes) + " do not broadcast");
            }
        }
        return out;
    }

    private static String toString(long[][] shapes) {
        StringBuilder b = new StringBuilder();
        for (long[] s : shapes) b.append(b.isEmpty() ? "" : ", ").append(Arrays.toString(s));
        return b.toString();
    }

    /** Row-major strides of a shape, in elements. */
    public static long[] strides(long[] shape) {
        long[] st = new long[shape.length];
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) { st[i] = s; s *= shape[i]; }
        return st;
    }

    /**
     * For each linear index of {@code out}, the linear index into a tensor of shape {@code in} broadcast to
     * {@code out}. The inner loop of every broadcasting reference op.
     */
    public static int[] broadcastIndex(long[] in, long[] out) {
        int n = (int) dev.kiln.ir.Tensor.numel(out);
        int[] idx = new int[n];
        int rank = out.length, off = rank - in.length;
        long[] inStrides = strides(in);
        long[] eff = new long[rank]; // stride of each out axis in the input, 0 where broadcast
        for (int i = 0; i < rank; i++) {
            int j = i - off;
            eff[i] = j < 0 || in[j] == 1 ? 0 : inStrides[j];
        }
        int[] counter = new int[rank];
        long pos = 0;
        for (int k = 0; k < n; k++) {
            idx[k] = (int) pos;
            for (int a = rank - 1; a >= 0; a--) {
                counter[a]++;
                pos += eff[a];
                if (counter[a] < out[a]) break;
                pos -= eff[a] * counter[a];
                counter[a] = 0;
            }
        }
        return idx;
    }

    /** Normalizes a possibly negative axis into [0, rank); throws a ShapeException when out of range. */
    public static int axis(long axis, int rank) {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw new ShapeException("axis " + axis + " is out of range for rank " + rank);
        return (int) a;
    }

    /** The sizes of a shape that may be symbolic: static sizes, -1 for symbolic dims. */
    public static long[] sizesOrMinusOne(Shape s) {
        long[] r = new long[s.rank()];
        for (int i = 0; i < r.length; i++) r[i] = s.dim(i).isStatic() ? s.dim(i).size() : -1;
        return r;
    }
}
