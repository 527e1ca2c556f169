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
 * stays symbolic (e.g. data-dependent, like NonZero) is an error naming it.
 */
public final class SpecializeShapes implements Pass {
    public static final String NAME = "specialize-shapes";

    private final Map<String, long[]> inputShapes;

    public SpecializeShapes() { this(Map.of()); }

    public SpecializeShapes(Map<String, long[]> inputShapes) { this.inputShapes = new HashMap<>(inputShapes); }

    @Override public String name() { return NAME; }

    @Override public Set<Property> establishes() { return Set.of(Property.STATIC_SHAPES); }

    @Override public Graph run(Graph g, PassContext ctx) {
        Emitter e = new Emitter(g, true);
        for (Value in : g.inputs()) {
            long[] given = inputShapes.get(in.name());
            if (given != null) {
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
}
