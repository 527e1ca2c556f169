package dev.kiln.ir;

import dev.kiln.ir.ref.Interpreter;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** View ops against the interpreter: reading the input buffer through the view gives the op's result. */
class ViewOpsTest {
    /**
     * Random chains of Transpose, Reshape and Slice (negative and clamped bounds, explicit or default axes)
     * over a buffer whose element i holds i; wherever {@link ViewOps#apply} gives a view, it must address
     * exactly the elements the interpreter computes.
     */
    @Property(tries = 300) void viewsAgreeWithTheInterpreter(@ForAll @IntRange(min = 0, max = 1_000_000) int seed) {
        Random r = new Random(seed);
        int rank = 1 + r.nextInt(4);
        long[] shape = new long[rank];
        for (int i = 0; i < rank; i++) shape[i] = 1 + r.nextInt(5);
        GraphBuilder b = new GraphBuilder("chain");
        Value x = b.input("x", TensorType.of(DType.F32, shape));
        Value cur = x;
        for (int step = 0; step < 1 + r.nextInt(4); step++) {
            long[] s = cur.shape().sizes();
            cur = switch (r.nextInt(3)) {
                case 0 -> b.op("Transpose", Map.of("perm", Attr.ints(perm(s.length, r))), cur);
                case 1 -> b.op("Reshape", cur, b.constant(Tensor.vector(regroup(s, r))));
                default -> {
                    int a = r.nextInt(s.length);
                    // non-empty windows, written with negative starts and clamped ends as exporters do
                    long first = r.nextInt((int) s[a]), last = first + 1 + r.nextInt((int) (s[a] - first));
                    long start = r.nextBoolean() ? first - s[a] : first, end = last == s[a] && r.nextBoolean() ? Long.MAX_VALUE : last;
                    yield r.nextBoolean()
                            ? b.op("Slice", cur, b.constant(Tensor.vector(start)), b.constant(Tensor.vector(end)), b.constant(Tensor.vector(a - (r.nextBoolean() ? s.length : 0))))
                            : b.op("Slice", cur, b.constant(Tensor.vector(start)), b.constant(Tensor.vector(end)), b.constant(Tensor.vector(a)), b.constant(Tensor.vector(1)));
                }
            };
        }
        Graph g = b.output(cur).build();
        StridedView v = StridedView.contiguous(shape);
        for (Node n : g.nodes()) {
            if (n.op().equals("Constant")) continue;
            v = ViewOps.apply(n, v, g::constantValue);
            if (v == null) return; // a reshape of a transposed view may need a copy
        }
        double[] data = new double[(int) Tensor.numel(shape)];
        for (int i = 0; i < data.length; i++) data[i] = i;
        Tensor want = Interpreter.run(g, List.of(Tensor.ofDoubles(DType.F32, shape, data))).get(0);
        assertArrayEquals(want.shape(), v.shape());
        long[] idx = new long[v.rank()];
        for (int i = 0; i < want.numel(); i++) {
            long off = v.offset(), rest = i;
            for (int a = v.rank() - 1; a >= 0; a--) {
                idx[a] = rest % v.size(a);
                rest /= v.size(a);
                off += idx[a] * v.stride(a);
            }
            assertEquals(want.getDouble(i), (double) off, "element " + i + " of " + g);
        }
    }

    @Test void aSliceWithAStepOtherThanOneIsNoView() {
        GraphBuilder b = new GraphBuilder("step");
        Value x = b.input("x", TensorType.of(DType.F32, 6));
        Value y = b.op("Slice", x, b.constant(Tensor.vector(0)), b.constant(Tensor.vector(6)), b.constant(Tensor.vector(0)), b.constant(Tensor.vector(2)));
        Graph g = b.output(y).build();
        Node slice = g.producer(y);
        assertNull(ViewOps.apply(slice, StridedView.contiguous(new long[] {6}), g::constantValue));
        assertNull(ViewOps.apply(slice, StridedView.contiguous(new long[] {6}), v -> null), "bounds must be constants");
    }

    @Test void aStoreThroughTheHeadMergeIsTheInverseTranspose() {
        // attention output [1,2,3,4] -> Transpose(0,2,1,3) -> [1,3,2,4]: element (b,h,s,d) is stored at s*8 + h*4 + d
        GraphBuilder b = new GraphBuilder("merge");
        Value o = b.input("o", TensorType.of(DType.F32, 1, 2, 3, 4));
        Value t = b.op("Transpose", Map.of("perm", Attr.ints(new long[] {0, 2, 1, 3})), o);
        Graph g = b.output(t).build();
        StridedView s = ViewOps.unapply(g.producer(t), StridedView.contiguous(new long[] {1, 3, 2, 4}));
        assertArrayEquals(new long[] {1, 2, 3, 4}, s.shape());
        assertEquals(4, s.stride(1));
        assertEquals(8, s.stride(2));
        assertEquals(1, s.stride(3));
    }

    private static long[] perm(int rank, Random r) {
        List<Long> p = new java.util.ArrayList<>();
        for (long i = 0; i < rank; i++) p.add(i);
        java.util.Collections.shuffle(p, r);
        return p.stream().mapToLong(Long::longValue).toArray();
    }

    /** A random shape with the same element count: split or merge neighbouring dims, or add a unit axis. */
    private static long[] regroup(long[] s, Random r) {
        List<Long> out = new java.util.ArrayList<>();
        for (long d : s) out.add(d);
        int i = r.nextInt(out.size());
        switch (r.nextInt(3)) {
            case 0 -> { if (i + 1 < out.size()) out.set(i, out.get(i) * out.remove(i + 1)); }
            case 1 -> { long d = out.get(i); for (long f = 2; f < d; f++) if (d % f == 0) { out.set(i, f); out.add(i + 1, d / f); break; } }
            default -> out.add(i, 1L);
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }
}
