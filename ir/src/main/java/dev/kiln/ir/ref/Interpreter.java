package dev.kiln.ir.ref;

import dev.kiln.ir.Dim;
import dev.kiln.ir.EvaluationException;
import dev.kiln.ir.Graph;
import dev.kiln.ir.KilnException;
import dev.kiln.ir.Node;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.Value;
import dev.kiln.ir.op.Contexts;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.OpRegistry;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The reference semantics of a whole graph: runs each node's {@link OpDef#semantics()} in order on the CPU.
 * It is the oracle for constant folding, golden tests and GPU results. Inputs are checked against the
 * graph's declared types (dtype, rank, static dims, and symbolic dims bound consistently); each node's
 * outputs are checked against its declared dtype and rank, so a wrong shape rule is caught where it happens.
 */
public final class Interpreter {
    private final OpRegistry registry;

    public Interpreter(OpRegistry registry) { this.registry = registry; }

    public static List<Tensor> run(Graph g, List<Tensor> inputs) { return new Interpreter(OpRegistry.standard()).execute(g, inputs); }

    public List<Tensor> execute(Graph g, List<Tensor> inputs) {
        if (inputs.size() != g.inputs().size())
            throw new EvaluationException("graph '" + g.name() + "' takes " + g.inputs().size() + " inputs, got " + inputs.size());
        Map<String, Tensor> env = new HashMap<>();
        Map<String, Long> symbols = new HashMap<>();
        for (int i = 0; i < inputs.size(); i++) {
            Value v = g.inputs().get(i);
            Tensor t = inputs.get(i);
            checkInput(v, t, symbols);
            env.put(v.name(), t);
        }
        Map<String, Integer> lastUse = lastUses(g);
        List<Node> nodes = g.nodes().castToList();
        for (int k = 0; k < nodes.size(); k++) {
            Node n = nodes.get(k);
            List<Tensor> args = new ArrayList<>(n.inputs().size());
            for (Value in : n.inputs()) {
                if (in.isNone()) { args.add(null); continue; }
                Tensor t = env.get(in.name());
                if (t == null) throw n.error(new EvaluationException("input %" + in.name() + " has no value"));
                args.add(t);
            }
            List<Tensor> outs;
            try {
                outs = registry.get(n.op()).semantics().eval(Contexts.eval(n, args));
            } catch (KilnException e) {
                throw e.withContext(g.name(), n.label(), n.op());
            } catch (RuntimeException e) {
                throw n.error(new EvaluationException("reference evaluation failed: " + e, e));
            }
            if (outs.size() < n.outputs().size())
                throw n.error(new EvaluationException("reference semantics gave " + outs.size() + " outputs, node has " + n.outputs().size()));
            for (int i = 0; i < n.outputs().size(); i++) {
                Value o = n.output(i);
                if (o.isNone()) continue;
                Tensor t = outs.get(i);
                if (t.dtype() != o.dtype() || o.shape().ranked() && t.rank() != o.shape().rank())
                    throw n.error(new EvaluationException("output %" + o.name() + " should be " + o.type() + " but evaluated to "
                            + t.dtype() + Arrays.toString(t.shape())));
                env.put(o.name(), t);
            }
            // drop values nobody reads any more: whole models otherwise hold every activation
            for (Value in : n.inputs()) if (!in.isNone() && lastUse.getOrDefault(in.name(), -1) == k) env.remove(in.name());
        }
        List<Tensor> result = new ArrayList<>();
        for (Value o : g.outputs()) result.add(env.get(o.name()));
        return result;
    }

    private static Map<String, Integer> lastUses(Graph g) {
        Map<String, Integer> last = new HashMap<>();
        List<Node> nodes = g.nodes().castToList();
        for (int k = 0; k < nodes.size(); k++) for (Value in : nodes.get(k).inputs()) last.put(in.name(), k);
        for (Value o : g.outputs()) last.put(o.name(), Integer.MAX_VALUE);
        return last;
    }

    private static void checkInput(Value v, Tensor t, Map<String, Long> symbols) {
        if (t == null) throw new EvaluationException("no tensor given for input %" + v.name());
        if (t.dtype() != v.dtype())
            throw new EvaluationException("input %" + v.name() + " should be " + v.dtype() + " but is " + t.dtype());
        Shape s = v.shape();
        if (!s.ranked()) return;
        if (t.rank() != s.rank())
            throw new EvaluationException("input %" + v.name() + " should have shape " + s + " but has " + Arrays.toString(t.shape()));
        for (int i = 0; i < t.rank(); i++) {
            Dim d = s.dim(i);
            if (d instanceof Dim.Static st && st.size() != t.dim(i))
                throw new EvaluationException("input %" + v.name() + " should have shape " + s + " but has " + Arrays.toString(t.shape()));
            if (d instanceof Dim.Sym sym && !d.isUnknown()) {
                Long prev = symbols.putIfAbsent(sym.name(), t.dim(i));
                if (prev != null && prev != t.dim(i))
                    throw new EvaluationException("input %" + v.name() + " binds dim " + sym.name() + " to " + t.dim(i)
                            + " but an earlier input bound it to " + prev);
            }
        }
    }
}
