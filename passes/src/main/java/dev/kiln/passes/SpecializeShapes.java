package dev.kiln.passes;

import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Shape;
import dev.kiln.ir.ShapeException;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * specialize-shapes: gives the graph inputs concrete shapes (from a map of input name to sizes, else their
 * declared static types) and re-infers every node's output types from the op shape rules, in order, so
 * symbolic and unknown dims become sizes. Afterwards every value's shape is static; a value whose shape
 * stays symbolic (e.g. data-dependent, like NonZero) is an error naming it. Shape arithmetic is folded on
 * the way (Shape/Size of static values, and integer nodes of constants with at most {@link #SHAPE_FOLD_LIMIT}
 * elements), because a Reshape or Expand target computed by Shape→Gather→Concat has no static type otherwise.
 */
public final class SpecializeShapes implements Pass {
    public static final String NAME = "specialize-shapes";
    static final long SHAPE_FOLD_LIMIT = 64;

    private final Map<String, long[]> inputShapes;
    private final Map<String, dev.kiln.ir.Tensor> inputValues;

    public SpecializeShapes() { this(Map.of()); }

    public SpecializeShapes(Map<String, long[]> inputShapes) { this(inputShapes, Map.of()); }

    /**
     * @param inputValues graph inputs to specialize on their value: they become constants (and leave the
     *                    graph's inputs), so shapes computed from them become static
     */
    public SpecializeShapes(Map<String, long[]> inputShapes, Map<String, dev.kiln.ir.Tensor> inputValues) {
        this.inputShapes = new HashMap<>(inputShapes);
        this.inputValues = new HashMap<>(inputValues);
    }

    @Override public String name() { return NAME; }

    @Override public Set<Property> establishes() { return Set.of(Property.STATIC_SHAPES); }

    @Override public Graph run(Graph g, PassContext ctx) {
        Emitter e = new Emitter(g, true);
        for (Value in : g.inputs()) {
            long[] given = inputShapes.get(in.name());
            dev.kiln.ir.Tensor value = inputValues.get(in.name());
            if (value != null) {
                if (value.dtype() != in.dtype())
                    throw new ShapeException("input %" + in.name() + " is " + in.type() + " but is bound to a " + value.dtype() + " value");
                e.bindInput(in, value);
                ctx.count("inputs bound to values");
            } else if (given != null) {
                if (in.shape().ranked() && in.shape().rank() != given.length)
                    throw new ShapeException("input %" + in.name() + " is " + in.type() + "; cannot specialize it to rank " + given.length);
                e.retypeInput(in, new TensorType(in.dtype(), Shape.of(given)));
                ctx.count("inputs specialized");
            } else if (!in.shape().isStatic()) {
                throw new ShapeException("input %" + in.name() + " has shape " + in.shape()
                        + "; give it a concrete shape to specialize the graph");
            }
        }
        for (Node n : g.nodes()) {
            if (isShapeArithmetic(n) && FoldConstants.foldInto(n, e, ctx, SHAPE_FOLD_LIMIT)) continue;
            Node m = e.copy(n);
            for (Value o : m.outputs()) {
                if (o.isNone()) continue;
                if (!o.shape().isStatic())
                    throw m.error(new ShapeException("value %" + o.name() + " has shape " + o.shape() + " after specialization"));
            }
            if (!m.outputs().equals(n.outputs())) ctx.count("nodes retyped");
        }
        return e.finish();
    }

    private static boolean isShapeArithmetic(Node n) {
        if (n.op().equals("Shape") || n.op().equals("Size")) return true;
        // bool too: exported models compute shapes with Equal/Where chains (torch's Expand of -1 dims)
        return !n.op().equals("Constant") && !n.outputs().isEmpty() && !n.output(0).isNone()
                && (n.output(0).dtype().isInteger() || n.output(0).dtype().isBool());
    }
}
