package dev.kiln.ir;

import dev.kiln.ir.op.Contexts;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.OpRegistry;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Checks the IR invariants: SSA (every value defined once, before use, with one type), known ops with
 * valid arity and attributes, output types consistent with each op's shape rule, graph outputs defined.
 * Returns the graph unchanged or throws a {@link VerifyException} naming the node.
 */
public final class Verifier {
    private final OpRegistry registry;

    public Verifier(OpRegistry registry) { this.registry = registry; }

    public static Graph verify(Graph g) { return new Verifier(OpRegistry.standard()).check(g); }

    public Graph check(Graph g) {
        Map<String, Value> defined = new HashMap<>();
        Map<String, Tensor> constants = new HashMap<>();
        for (Value v : g.inputs()) define(defined, v, null);
        for (Node n : g.nodes()) {
            OpDef def;
            try {
                def = registry.get(n.op());
            } catch (UnsupportedException e) {
                throw fail(n, "unknown op '" + n.op() + "'");
            }
            int nin = n.inputs().size(), nout = n.outputs().size();
            if (nin < def.minInputs() || nin > def.maxInputs())
                throw fail(n, "takes " + range(def.minInputs(), def.maxInputs()) + " inputs, has " + nin);
            if (nout < def.minOutputs() || nout > def.maxOutputs())
                throw fail(n, "makes " + range(def.minOutputs(), def.maxOutputs()) + " outputs, has " + nout);
            for (Value in : n.inputs()) {
                if (in.isNone()) continue;
                Value d = defined.get(in.name());
                if (d == null) throw fail(n, "reads %" + in.name() + ", which is not defined before it");
                if (!d.type().equals(in.type()))
                    throw fail(n, "reads %" + in.name() + " as " + in.type() + " but it is defined as " + d.type());
            }
            try {
                def.extraCheck().accept(n);
                List<TensorType> inferred = def.shapeRule().infer(Contexts.infer(n, constants::get));
                for (int i = 0; i < nout; i++) {
                    Value o = n.output(i);
                    if (o.isNone()) continue;
                    if (i < inferred.size() && !compatible(inferred.get(i), o.type()))
                        throw fail(n, "output %" + o.name() + " is typed " + o.type() + " but the op's rule gives " + inferred.get(i));
                }
            } catch (VerifyException e) {
                throw e;
            } catch (KilnException e) {
                throw (VerifyException) new VerifyException(e.detail(), e).withContext(g.name(), n.label(), n.op());
            }
            for (Value o : n.outputs()) if (!o.isNone()) define(defined, o, n);
            if (n.op().equals("Constant") && n.attrTensor("value") != null) constants.put(n.output(0).name(), n.attrTensor("value"));
        }
        for (Value o : g.outputs()) {
            Value d = defined.get(o.name());
            if (d == null) throw new VerifyException("graph output %" + o.name() + " is never defined").withContext(g.name(), null, null);
            if (!d.type().equals(o.type()))
                throw new VerifyException("graph output %" + o.name() + " is typed " + o.type() + " but defined as " + d.type());
        }
        return g;
    }

    private static String range(int min, int max) {
        return min == max ? Integer.toString(min) : max == OpDef.VARIADIC ? min + " or more" : min + " to " + max;
    }

    private static void define(Map<String, Value> defined, Value v, Node by) {
        if (v.isNone()) return;
        if (defined.putIfAbsent(v.name(), v) != null) {
            String where = by == null ? "as a graph input" : "by node '" + by.label() + "' (" + by.op() + ")";
            throw new VerifyException("value %" + v.name() + " is defined twice (again " + where + ")");
        }
    }

    /** Same dtype; same rank when both ranked; equal sizes where both dims are static. */
    public static boolean compatible(TensorType a, TensorType b) {
        if (a.dtype() != b.dtype()) return false;
        if (!a.shape().ranked() || !b.shape().ranked()) return true;
        if (a.rank() != b.rank()) return false;
        for (int i = 0; i < a.rank(); i++) {
            Dim x = a.shape().dim(i), y = b.shape().dim(i);
            if (x.isStatic() && y.isStatic() && x.size() != y.size()) return false;
        }
        return true;
    }

    private static VerifyException fail(Node n, String msg) { return n.error(new VerifyException(msg)); }
}
