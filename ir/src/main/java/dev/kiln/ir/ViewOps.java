package dev.kiln.ir;

import dev.kiln.ir.ops.movement.SliceOps;

import java.util.Set;
import java.util.function.Function;

/**
 * The ops a kernel can read or write through a {@link StridedView} instead of a copy, and how each maps a
 * view: Transpose (a permutation of strides), Reshape to a static shape (when strides express it) and Slice
 * with constant starts/ends and step 1 (an offset). The passes that move views into kernels and the code
 * generators that read through them both ask here, so they agree on what is a view.
 */
public final class ViewOps {
    private ViewOps() {}

    /** Ops that can sit between a kernel's buffer and a contraction's operand (prologue views). */
    public static final Set<String> OPS = Set.of("Transpose", "Reshape", "Slice");

    /** Ops a kernel can also write through (store views): a Slice has no inverse, it drops elements. */
    public static final Set<String> STORE_OPS = Set.of("Transpose", "Reshape");

    /**
     * The view of {@code n}'s output when its input 0 is read through {@code in}, or null when {@code n} is not
     * a view op, its output shape is not static, or no strides express it. {@code constant} gives the value of
     * a constant operand (Slice's starts/ends/axes/steps) or null.
     */
    public static StridedView apply(Node n, StridedView in, Function<Value, Tensor> constant) {
        if (n.outputs().size() != 1 || !n.output(0).shape().isStatic()) return null;
        long[] out = n.output(0).shape().sizes();
        return switch (n.op()) {
            case "Transpose" -> in.permute(perm(n, in.rank()));
            case "Reshape" -> in.reshape(out);
            case "Slice" -> slice(n, in, out, constant);
            default -> null;
        };
    }

    /**
     * Where each element of {@code n}'s input lands when its output is written through {@code out} (a store
     * view built backwards from the last op of a chain), or null when {@code n} is not a store op or no strides
     * express it.
     */
    public static StridedView unapply(Node n, StridedView out) {
        if (!n.input(0).shape().isStatic()) return null;
        long[] inShape = n.input(0).shape().sizes();
        return switch (n.op()) {
            case "Reshape" -> out.reshape(inShape);
            case "Transpose" -> {
                long[] perm = perm(n, inShape.length), inv = new long[perm.length];
                for (int j = 0; j < perm.length; j++) inv[(int) perm[j]] = j;
                yield out.permute(inv);
            }
            default -> null;
        };
    }

    /** Transpose's perm attribute, or the reversal ONNX defaults to. */
    public static long[] perm(Node n, int rank) {
        if (n.hasAttr("perm")) return n.attrInts("perm");
        long[] p = new long[rank];
        for (int i = 0; i < rank; i++) p[i] = rank - 1 - i;
        return p;
    }

    private static StridedView slice(Node n, StridedView in, long[] out, Function<Value, Tensor> constant) {
        long[] starts = longs(n, 1, constant), ends = longs(n, 2, constant);
        long[] axes = n.hasInput(3) ? longs(n, 3, constant) : null, steps = n.hasInput(4) ? longs(n, 4, constant) : null;
        if (starts == null || ends == null || n.hasInput(3) && axes == null || n.hasInput(4) && steps == null) return null;
        StridedView v = in;
        for (int i = 0; i < starts.length; i++) {
            if (steps != null && steps[i] != 1) return null;
            int a = (int) (axes == null ? i : axes[i] < 0 ? axes[i] + in.rank() : axes[i]);
            long first = SliceOps.sliceDim(starts[i], ends[i], 1, in.size(a))[0];
            v = v.slice(a, first, out[a]);
        }
        return v;
    }

    private static long[] longs(Node n, int i, Function<Value, Tensor> constant) {
        Tensor t = constant.apply(n.input(i));
        return t == null ? null : t.toLongs();
    }
}
