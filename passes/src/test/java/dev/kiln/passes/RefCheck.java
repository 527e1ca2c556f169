package dev.kiln.passes;

import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.Value;
import dev.kiln.ir.ref.Interpreter;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Test helpers: run passes through a verifying PassManager and compare reference results. Tolerance for
 * f32: |got - want| <= ATOL + RTOL·|want| (each decomposed op rounds to f32 where the reference op rounds
 * once from double, so a few ulps per step); other dtypes exactly.
 */
final class RefCheck {
    private RefCheck() {}

    static final double RTOL = 1e-5, ATOL = 1e-6;

    static Graph run(Graph g, Pass... passes) { return run(g, List.of(passes)); }

    static Graph run(Graph g, List<Pass> passes) { return run(g, Set.of(), passes); }

    /** With properties the caller vouches for (a graph specialized by an earlier run). */
    static Graph run(Graph g, Set<Property> given, List<Pass> passes) {
        return new PassManager(passes, given, PassManager.Options.defaults(), Graph::toString).run(g);
    }

    /** A random shape of the given rank with dims 1 to 4 (small, so every rule's graph evaluates quickly). */
    static long[] shape(Random r, int rank) {
        long[] s = new long[rank];
        for (int i = 0; i < rank; i++) s[i] = 1 + r.nextInt(4);
        return s;
    }

    static Tensor random(Random r, DType dt, long[] shape, double lo, double hi) {
        double[] v = new double[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = lo + (hi - lo) * r.nextDouble();
        return Tensor.ofDoubles(dt, shape, v);
    }

    /** Random inputs for the graph's (static or given) input shapes. */
    static List<Tensor> inputs(Graph g, Random r, long[]... shapes) {
        List<Tensor> in = new ArrayList<>();
        for (int i = 0; i < g.inputs().size(); i++) {
            Value v = g.inputs().get(i);
            long[] s = i < shapes.length && shapes[i] != null ? shapes[i] : v.shape().sizes();
            in.add(random(r, v.dtype(), s, -2, 2));
        }
        return in;
    }

    /** Reference results of {@code before} and {@code after} on the same inputs agree within the tolerance. */
    static void assertSameSemantics(Graph before, Graph after, List<Tensor> inputs) {
        assertSameSemantics(before, after, inputs, ATOL);
    }

    /**
     * With a wider absolute tolerance for normalizations: x - mean cancels in f32 where the reference
     * subtracts in double, an absolute error of ~1e-7 that 1/sqrt(var + eps) and the scale amplify.
     */
    static void assertSameSemantics(Graph before, Graph after, List<Tensor> inputs, double atol) {
        assertClose(Interpreter.run(before, inputs), Interpreter.run(after, inputs), atol);
    }

    static void assertClose(List<Tensor> want, List<Tensor> got) { assertClose(want, got, ATOL); }

    static void assertClose(List<Tensor> want, List<Tensor> got, double atol) {
        assertEquals(want.size(), got.size(), "output count");
        for (int k = 0; k < want.size(); k++) {
            Tensor w = want.get(k), g = got.get(k);
            assertEquals(w.dtype(), g.dtype(), "dtype of output " + k);
            assertArrayEquals(w.shape(), g.shape(), "shape of output " + k);
            for (int i = 0; i < w.numel(); i++) {
                double a = w.getDouble(i), b = g.getDouble(i);
                if (Double.isNaN(a) && Double.isNaN(b) || a == b) continue;
                double tol = w.dtype().isFloat() ? atol + RTOL * Math.abs(a) : 0;
                assertTrue(Math.abs(a - b) <= tol, "output " + k + " element " + i + ": want " + a + ", got " + b
                        + " (shape " + Arrays.toString(w.shape()) + ")");
            }
        }
    }

    static long count(Graph g, String op) { return g.nodes().count(n -> n.op().equals(op)); }
}
