package dev.kiln.ir.ops.movement;

import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.op.EvalContext;
import dev.kiln.ir.op.InferContext;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.OpFamily;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.op.Shapes;
import dev.kiln.ir.op.Trait;

import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

import static dev.kiln.ir.ops.movement.Indexing.*;

/**
 * Slice and Pad: per-axis windows into the input, given by starts/ends/axes/steps or pads/axes inputs.
 * Both clamp or wrap per ONNX; their shape rules compute static sizes where the window inputs are
 * constants and the sliced dims static.
 */
public final class SliceOps implements OpFamily {
    private static final long INT_MAX = Integer.MAX_VALUE;

    @Override public void register(OpRegistry.Builder r) {
        r.add(OpDef.op("Slice").traits(Trait.MOVEMENT).inputs(3, 5).outputs(1)
                .infer(SliceOps::sliceRule)
                .eval(SliceOps::slice));
        r.add(OpDef.op("Pad").traits(Trait.MOVEMENT).inputs(2, 4).outputs(1)
                .check(n -> oneOf(n, "mode", "constant", "constant", "reflect", "edge", "wrap"))
                .infer(SliceOps::padRule)
                .eval(SliceOps::pad));
    }

    // ---- Slice ----

    /** {first index, element count} of slicing a dim of size d, with ONNX's clamping. */
    public static long[] sliceDim(long start, long end, long step, long d) {
        if (d == 0) return new long[] {0, 0};
        if (step > 0) {
            long s = Math.clamp(start < 0 ? start + d : start, 0, d), e = Math.clamp(end < 0 ? end + d : end, 0, d);
            return new long[] {s, e > s ? Math.ceilDiv(e - s, step) : 0};
        }
        long s = Math.clamp(start < 0 ? start + d : start, 0, d - 1), e = Math.clamp(end < 0 ? end + d : end, -1, d - 1);
        return new long[] {s, s > e ? Math.ceilDiv(s - e, -step) : 0};
    }

    /** Validated window parameters per sliced axis: axes[i], starts[i], ends[i], steps[i]. */
    private record Window(int[] axes, long[] starts, long[] ends, long[] steps) {}

    private static Window window(long[] starts, long[] ends, long[] axes, long[] steps, int rank, Function<String, RuntimeException> err) {
        int n = starts.length;
        if (ends.length != n) throw err.apply("starts has " + n + " values but ends has " + ends.length);
        if (axes != null && axes.length != n) throw err.apply("starts has " + n + " values but axes has " + axes.length);
        if (steps != null && steps.length != n) throw err.apply("starts has " + n + " values but steps has " + steps.length);
        if (axes == null && n > rank) throw err.apply(n + " starts for a rank-" + rank + " input");
        int[] ax = new int[n];
        boolean[] seen = new boolean[rank];
        long[] st = new long[n];
        for (int i = 0; i < n; i++) {
            long a = axes == null ? i : axes[i];
            if (a < -rank || a >= rank) throw err.apply("axis " + a + " is out of range for rank " + rank);
            ax[i] = (int) (a < 0 ? a + rank : a);
            if (seen[ax[i]]) throw err.apply("axis " + a + " is repeated");
            seen[ax[i]] = true;
            st[i] = steps == null ? 1 : steps[i];
            if (st[i] == 0) throw err.apply("slice step must not be 0");
        }
        return new Window(ax, starts, ends, st);
    }

    private static List<TensorType> sliceRule(InferContext c) {
        TensorType t = c.inputType(0);
        for (int i = 1; i < 5; i++) if (c.hasInput(i)) requireIndexType(c, i, "input " + i);
        if (!t.shape().ranked()) return one(t.dtype(), Shape.UNRANKED);
        int rank = t.rank();
        long[] starts = constLongs(c, 1), ends = constLongs(c, 2), axes = constLongs(c, 3), steps = constLongs(c, 4);
        boolean axesKnown = !c.hasInput(3) || axes != null;
        if (starts == null || ends == null || axesKnown == false || c.hasInput(4) && steps == null) {
            Dim[] out = t.shape().dims().toArray(new Dim[0]);
            int n = starts != null ? starts.length : staticLength(c, 1);
            if (axes != null) for (long a : axes) out[axis(c, a, rank)] = Dim.UNKNOWN;
            else if (axesKnown && n >= 0 && n <= rank) for (int a = 0; a < n; a++) out[a] = Dim.UNKNOWN;
            else return one(t.dtype(), Shape.unknown(rank));
            return one(t.dtype(), Shape.of(out));
        }
        Window w = window(starts, ends, axes, steps, rank, c::error);
        Dim[] out = t.shape().dims().toArray(new Dim[0]);
        for (int i = 0; i < w.axes.length; i++) {
            Dim d = out[w.axes[i]];
            if (d.isStatic()) out[w.axes[i]] = Dim.of(sliceDim(w.starts[i], w.ends[i], w.steps[i], d.size())[1]);
            else if (!(w.steps[i] == 1 && w.starts[i] == 0 && w.ends[i] >= INT_MAX)) out[w.axes[i]] = Dim.UNKNOWN;
        }
        return one(t.dtype(), Shape.of(out));
    }

    private static List<Tensor> slice(EvalContext c) {
        Tensor x = c.input(0);
        long[] s = x.shape();
        Window w = window(longs(c, 1), longs(c, 2), longs(c, 3), longs(c, 4), s.length, c::error);
        long[] first = new long[s.length], step = new long[s.length], out = s.clone();
        Arrays.fill(step, 1);
        for (int i = 0; i < w.axes.length; i++) {
            int a = w.axes[i];
            long[] fs = sliceDim(w.starts[i], w.ends[i], w.steps[i], s[a]);
            first[a] = fs[0];
            out[a] = fs[1];
            step[a] = w.steps[i];
        }
        long[] strides = Shapes.strides(s);
        return List.of(take(x, out, map(out, o -> {
            long p = 0;
            for (int a = 0; a < o.length; a++) p += (first[a] + o[a] * step[a]) * strides[a];
            return (int) p;
        })));
    }

    // ---- Pad: pads = [x1_begin, x2_begin, ..., x1_end, x2_end, ...] over axes (default all) ----

    /** Per-axis {begin, end} pads for a rank-{@code rank} input; null when pads or axes are not known. */
    private static long[][] padsPerAxis(long[] pads, long[] axes, int rank, Function<String, RuntimeException> err) {
        int n = axes == null ? rank : axes.length;
        if (pads.length != 2 * n) throw err.apply("pads has " + pads.length + " values, expected " + 2 * n);
        long[][] be = new long[rank][2];
        boolean[] seen = new boolean[rank];
        for (int i = 0; i < n; i++) {
            long a = axes == null ? i : axes[i];
            if (a < -rank || a >= rank) throw err.apply("axis " + a + " is out of range for rank " + rank);
            int ax = (int) (a < 0 ? a + rank : a);
            if (seen[ax]) throw err.apply("axis " + a + " is repeated");
            seen[ax] = true;
            be[ax][0] = pads[i];
            be[ax][1] = pads[i + n];
        }
        return be;
    }

    private static List<TensorType> padRule(InferContext c) {
        TensorType t = c.inputType(0);
        requireIndexType(c, 1, "pads");
        if (c.inputType(1).dtype() != DType.I64) throw c.error("pads must be int64, not " + c.inputType(1).dtype());
        if (c.hasInput(2) && c.inputType(2).dtype() != t.dtype())
            throw c.error("constant_value is " + c.inputType(2).dtype() + " but data is " + t.dtype());
        if (c.hasInput(3)) requireIndexType(c, 3, "axes");
        if (!t.shape().ranked()) return one(t.dtype(), Shape.UNRANKED);
        int rank = t.rank();
        long[] pads = constLongs(c, 1), axes = constLongs(c, 3);
        if (pads == null || c.hasInput(3) && axes == null) return one(t.dtype(), Shape.unknown(rank));
        long[][] be = padsPerAxis(pads, axes, rank, c::error);
        Dim[] out = new Dim[rank];
        for (int a = 0; a < rank; a++) {
            Dim d = t.shape().dim(a);
            long delta = be[a][0] + be[a][1];
            if (d.isStatic()) {
                if (d.size() + delta < 0) throw c.error("pads " + Arrays.toString(pads) + " remove more than axis " + a + " holds");
                out[a] = Dim.of(d.size() + delta);
            } else out[a] = delta == 0 ? d : Dim.UNKNOWN;
        }
        return one(t.dtype(), Shape.of(out));
    }

    private static List<Tensor> pad(EvalContext c) {
        Tensor x = c.input(0);
        long[] s = x.shape();
        long[][] be = padsPerAxis(c.input(1).toLongs(), longs(c, 3), s.length, c::error);
        String mode = c.node().attrString("mode", "constant");
        long[] out = new long[s.length];
        for (int a = 0; a < s.length; a++) {
            out[a] = s[a] + be[a][0] + be[a][1];
            if (out[a] < 0) throw c.error("pads remove more than axis " + a + " holds");
            if (s[a] == 0 && out[a] > 0 && !mode.equals("constant"))
                throw c.error("cannot " + mode + "-pad the empty axis " + a);
        }
        long[] strides = Shapes.strides(s);
        int[] idx = map(out, o -> {
            long p = 0;
            for (int a = 0; a < o.length; a++) {
                long i = o[a] - be[a][0], d = s[a];
                if (i < 0 || i >= d) {
                    switch (mode) {
                        case "constant" -> { return -1; }
                        case "edge" -> i = Math.clamp(i, 0, d - 1);
                        case "wrap" -> i = Math.floorMod(i, d);
                        default -> { // reflect without repeating the edge: period 2(d-1)
                            long period = 2 * (d - 1);
                            i = period == 0 ? 0 : Math.floorMod(i, period);
                            if (i >= d) i = period - i;
                        }
                    }
                }
                p += i * strides[a];
            }
            return (int) p;
        });
        Tensor fill = c.hasInput(2) ? c.input(2) : null;
        if (fill != null && fill.numel() != 1) throw c.error("constant_value must hold one element, has " + fill.numel());
        return List.of(take(x, out, idx, fill));
    }
}
