package dev.kiln.passes;

import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.KilnException;
import dev.kiln.ir.Node;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.Value;
import dev.kiln.ir.op.Contexts;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.op.Trait;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * fold-constants: a node whose inputs are all constants (and whose op is deterministic) is evaluated with
 * the op's reference semantics into {@code Constant}s that keep its output names. {@code Shape} and
 * {@code Size} of a value with a static shape become constants even when the value is not, so
 * Shape→Gather→Concat→Reshape chains fold and the Reshape gets a static type. Results over
 * {@link #MAX_ELEMENTS} elements are left alone (they would bloat the model); nodes whose reference
 * evaluation fails are left for the runtime to report.
 */
public final class FoldConstants implements Pass {
    public static final String NAME = "fold-constants";
    /** The largest folded result, in elements. */
    public static final long MAX_ELEMENTS = 16L << 20;

    private static final OpRegistry REGISTRY = OpRegistry.standard();

    @Override public String name() { return NAME; }

    @Override public Set<Property> establishes() { return Set.of(Property.CONSTANTS_FOLDED); }

    @Override public Graph run(Graph g, PassContext ctx) {
        Emitter e = new Emitter(g);
        for (Node n : g.nodes()) {
            if (!foldInto(n, e, ctx, MAX_ELEMENTS)) e.copy(n);
        }
        return e.finish();
    }

    /** Emits {@code n} as constants when it folds (results of at most {@code max} elements); false otherwise. */
    static boolean foldInto(Node n, Emitter e, PassContext ctx, long max) {
        List<Tensor> folded = fold(n, e, ctx, max);
        if (folded == null) return false;
        for (int i = 0; i < n.outputs().size(); i++) if (!n.output(i).isNone()) e.bind(n, i, e.constant(folded.get(i)));
        ctx.count("folded " + n.op());
        return true;
    }

    private static List<Tensor> fold(Node n, Emitter e, PassContext ctx, long max) {
        if (n.op().equals("Constant") || !REGISTRY.contains(n.op())) return null;
        OpDef def = REGISTRY.get(n.op());
        if (def.has(Trait.NONDETERMINISTIC)) return null;
        Value x = e.get(n.input(0));
        if ((n.op().equals("Shape") || n.op().equals("Size")) && !x.isNone() && x.shape().isStatic())
            return List.of(n.op().equals("Shape") ? shapeOf(n, x.shape()) : Tensor.scalarLong(DType.I64, x.shape().numel()));
        List<Tensor> args = new ArrayList<>();
        for (Value in : n.inputs()) {
            if (in.isNone()) { args.add(null); continue; }
            Tensor t = e.constant(e.get(in));
            if (t == null) return null;
            args.add(t);
        }
        for (Value o : n.outputs())
            if (!o.isNone() && o.shape().isStatic() && o.shape().numel() > max) { ctx.count("too large to fold"); return null; }
        List<Tensor> outs;
        try {
            outs = def.semantics().eval(Contexts.eval(n, args));
        } catch (KilnException | ArithmeticException | IllegalArgumentException | IndexOutOfBoundsException ex) {
            ctx.count("left unfoldable");
            return null;
        }
        for (int i = 0; i < n.outputs().size(); i++) {
            Value o = n.output(i);
            if (o.isNone()) continue;
            if (i >= outs.size() || outs.get(i).numel() > max) { ctx.count("too large to fold"); return null; }
            if (outs.get(i).dtype() != o.dtype()) return null; // a wrong shape rule is not ours to paper over
        }
        return outs;
    }

    /** Shape's result for a static shape, honouring start/end (clamped like ONNX). */
    private static Tensor shapeOf(Node n, Shape s) {
        long[] sizes = s.sizes();
        int r = sizes.length;
        long start = n.attrInt("start", 0), end = n.attrInt("end", r);
        int a = (int) Math.clamp(start < 0 ? start + r : start, 0, r), b = (int) Math.clamp(end < 0 ? end + r : end, 0, r);
        return Tensor.vector(java.util.Arrays.copyOfRange(sizes, a, Math.max(a, b)));
    }

}
