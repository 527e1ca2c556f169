package dev.kiln.passes;

import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Value;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.op.Trait;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * cse: a node with the same op, inputs and attributes as an earlier one is replaced by it (its outputs are
 * renamed to the earlier node's). Nondeterministic ops are never merged. Constants are merged by content.
 */
public final class EliminateCommonSubexpressions implements Pass {
    public static final String NAME = "cse";

    @Override public String name() { return NAME; }

    private record Key(String op, List<String> inputs, Object attrs, int outputs) {}

    @Override public Graph run(Graph g, PassContext ctx) {
        Map<Key, Node> seen = new HashMap<>();
        Rewriter rw = new Rewriter(g);
        List<Node> out = new ArrayList<>();
        for (Node n0 : g.nodes()) {
            Node n = rw.remapInputs(n0);
            boolean pure = !OpRegistry.standard().contains(n.op())
                    || !OpRegistry.standard().get(n.op()).has(Trait.NONDETERMINISTIC);
            Key k = new Key(n.op(), n.inputs().collect(Value::name).castToList(), n.attrs(), n.outputs().size());
            Node prev = pure ? seen.get(k) : null;
            if (prev != null && prev.outputs().collect(Value::type).equals(n.outputs().collect(Value::type))) {
                for (int i = 0; i < n.outputs().size(); i++) rw.replace(n.output(i), prev.output(i));
                ctx.count("merged nodes");
                continue;
            }
            if (pure) seen.putIfAbsent(k, n);
            out.add(n);
        }
        return rw.finish(out);
    }
}
