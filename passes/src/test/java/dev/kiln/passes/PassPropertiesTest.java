package dev.kiln.passes;

import dev.kiln.ir.Graph;
import dev.kiln.ir.Tensor;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Each pass, and the standard pipeline up to fusion, keeps the reference semantics of random
 * elementwise/reduction/normalization graphs ({@link RandomGraphs}); tolerance f32 rtol 1e-5, atol 1e-5
 * (the graphs contain layer norms, see {@link RefCheck#assertSameSemantics}).
 */
class PassPropertiesTest {
    private static final Map<String, long[]> N2 = Map.of("x", RandomGraphs.SHAPE);
    private static final double ATOL = 1e-5;

    private static Graph specialized(Graph g) { return RefCheck.run(g, new SpecializeShapes(N2)); }

    private static List<Tensor> inputs(Random r) { return List.of(RefCheck.random(r, dev.kiln.ir.DType.F32, RandomGraphs.SHAPE, -2, 2)); }

    @Property(tries = 60)
    void specializeShapesKeepsSemanticsAndMakesEveryShapeStatic(@ForAll long seed, @ForAll @IntRange(min = 1, max = 10) int steps) {
        Random r = new Random(seed);
        Graph g = RandomGraphs.build(r, steps);
        Graph s = specialized(g);
        s.nodes().forEach(n -> n.outputs().forEach(o -> assertTrue(o.isNone() || o.shape().isStatic(), o.toString())));
        RefCheck.assertSameSemantics(g, s, inputs(r), ATOL);
    }

    @Property(tries = 60)
    void foldConstantsKeepsSemanticsAndLeavesNoFoldableNode(@ForAll long seed, @ForAll @IntRange(min = 1, max = 10) int steps) {
        Random r = new Random(seed);
        Graph g = specialized(RandomGraphs.build(r, steps));
        Graph f = RefCheck.run(g, new FoldConstants());
        for (var n : f.nodes()) {
            if (n.op().equals("Constant")) continue;
            assertFalse(n.inputs().allSatisfy(i -> i.isNone() || f.constantValue(i) != null), "foldable " + n);
            assertFalse(n.op().equals("Shape"), "Shape of a static value stayed");
        }
        RefCheck.assertSameSemantics(g, f, inputs(r), ATOL);
    }

    @Property(tries = 60)
    void simplifyKeepsSemanticsAndNeverGrows(@ForAll long seed, @ForAll @IntRange(min = 1, max = 10) int steps) {
        Random r = new Random(seed);
        Graph g = RefCheck.run(specialized(RandomGraphs.build(r, steps)), new FoldConstants(), new EliminateDeadCode());
        Graph s = RefCheck.run(g, new Simplify(), new EliminateDeadCode());
        assertTrue(s.nodes().size() <= g.nodes().size() + g.outputs().size(), "grew: " + g.nodes().size() + " -> " + s.nodes().size());
        assertEquals(0, s.nodes().count(n -> n.op().equals("Neg") && s.producer(n.input(0)) != null
                && s.producer(n.input(0)).op().equals("Neg")), "--x left");
        RefCheck.assertSameSemantics(g, s, inputs(r), ATOL);
        assertEquals(s, RefCheck.run(s, new Simplify()), "simplify is idempotent");
    }

    @Property(tries = 60)
    void canonicalizeKeepsSemanticsAndLeavesOnlyPrimitives(@ForAll long seed, @ForAll @IntRange(min = 1, max = 10) int steps) {
        Random r = new Random(seed);
        Graph g = specialized(RandomGraphs.build(r, steps));
        Graph c = RefCheck.run(g, java.util.Set.of(dev.kiln.passes.Property.STATIC_SHAPES), List.of(new Canonicalize()));
        c.nodes().forEach(n -> assertTrue(Primitives.isPrimitive(n), n.op()));
        RefCheck.assertSameSemantics(g, c, inputs(r), ATOL);
    }

    @Property(tries = 60)
    void standardPipelineKeepsSemantics(@ForAll long seed, @ForAll @IntRange(min = 1, max = 12) int steps) {
        Random r = new Random(seed);
        Graph g = RandomGraphs.build(r, steps);
        Graph p = RefCheck.run(g, Pipeline.standard(N2));
        assertEquals(g.outputs().collect(v -> v.name()), p.outputs().collect(v -> v.name()), "output names");
        p.nodes().forEach(n -> assertTrue(Primitives.isPrimitive(n), n.op()));
        assertEquals(0, p.nodes().count(n -> n.op().equals("Shape") || n.op().equals("Identity") && !g.outputs().anySatisfy(
                o -> o.name().equals(n.output(0).name()))), "Shape/Identity left in\n" + p.nodes().makeString("\n"));
        RefCheck.assertSameSemantics(g, p, inputs(r), ATOL);
    }
}
