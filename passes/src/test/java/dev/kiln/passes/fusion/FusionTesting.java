package dev.kiln.passes.fusion;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.Value;
import dev.kiln.ir.ref.Interpreter;
import dev.kiln.passes.Pass;
import dev.kiln.passes.PassContext;
import dev.kiln.passes.PassManager;
import dev.kiln.passes.Property;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Shared helpers: the fusion pipeline, kernel counts, random inputs, tolerant comparison. */
final class FusionTesting {
    private FusionTesting() {}

    /** The order the fusion passes assume (see their javadocs). */
    static List<Pass> pipeline() {
        return List.of(new RecognizeAttention(), new FuseEpilogues(), new FuseReductions(), new FuseElementwise(), new GroupSingles());
    }

    static Graph run(List<Pass> passes, Graph g, List<PassManager.Record> records) {
        PassManager pm = new PassManager(passes, Set.of(Property.STATIC_SHAPES, Property.CONSTANTS_FOLDED, Property.ATTENTION_RECOGNIZED),
                PassManager.Options.defaults(), Graph::toString);
        Graph out = pm.run(g);
        if (records != null) records.addAll(pm.records());
        return out;
    }

    static Graph runOne(Pass p, Graph g, PassContext ctx) { return p.run(g, ctx); }

    /** Number of Fused nodes per kind, plus "other" for non-Constant, non-Fused nodes other than Reshape. */
    static Map<String, Integer> kernels(Graph g) {
        Map<String, Integer> m = new TreeMap<>();
        for (Node n : g.nodes()) {
            if (n.op().equals("Fused")) m.merge(n.attrString("kind", "?"), 1, Integer::sum);
            else if (!n.op().equals("Constant") && !n.op().equals("Reshape")) m.merge("other:" + n.op(), 1, Integer::sum);
        }
        return m;
    }

    static Tensor random(Random r, DType dt, long... shape) {
        int n = (int) Tensor.numel(shape);
        if (dt == DType.BOOL) {
            boolean[] b = new boolean[n];
            for (int i = 0; i < n; i++) b[i] = r.nextBoolean();
            return Tensor.ofBools(shape, b);
        }
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = r.nextDouble() * 4 - 2;
        return Tensor.ofDoubles(dt, shape, v);
    }

    static List<Tensor> inputsFor(Graph g, Random r) {
        List<Tensor> in = new ArrayList<>();
        for (Value v : g.inputs()) in.add(random(r, v.dtype(), v.shape().sizes()));
        return in;
    }

    static Value constant(GraphBuilder b, Random r, long... shape) { return b.constant(random(r, DType.F32, shape)); }

    static Value scalar(GraphBuilder b, double v) { return b.constant(Tensor.scalar(DType.F32, v)); }

    static Value axes(GraphBuilder b, long... a) { return b.constant(Tensor.vector(a)); }

    static Value reduce(GraphBuilder b, String op, Value x, long... axes) { return b.op(op, Map.of("keepdims", Attr.of(1)), x, axes(b, axes)); }

    /** Same results within {@code |a-b| <= atol + rtol*|b|}, NaN only where NaN. */
    static void assertClose(List<Tensor> want, List<Tensor> got, double rtol, double atol) {
        assertEquals(want.size(), got.size());
        for (int t = 0; t < want.size(); t++) {
            Tensor a = want.get(t), b = got.get(t);
            assertEquals(a.type(), b.type(), "output " + t);
            for (int i = 0; i < a.numel(); i++) {
                double x = a.getDouble(i), y = b.getDouble(i);
                if (Double.isNaN(x) || Double.isNaN(y)) {
                    if (Double.isNaN(x) != Double.isNaN(y)) fail("output " + t + "[" + i + "]: " + x + " vs " + y);
                    continue;
                }
                if (x == y) continue;
                if (Math.abs(x - y) > atol + rtol * Math.abs(x)) fail("output " + t + "[" + i + "]: " + x + " vs " + y);
            }
        }
    }

    static void assertSameResults(Graph before, Graph after, long seed, double rtol, double atol) {
        List<Tensor> in = inputsFor(before, new Random(seed));
        assertClose(Interpreter.run(before, in), Interpreter.run(after, in), rtol, atol);
    }
}
