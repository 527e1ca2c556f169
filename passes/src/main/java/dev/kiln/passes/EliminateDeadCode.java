package dev.kiln.passes;

import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Value;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** dce: removes nodes none of whose outputs reach a graph output. */
public final class EliminateDeadCode implements Pass {
    public static final String NAME = "dce";

    @Override public String name() { return NAME; }

    @Override public Graph run(Graph g, PassContext ctx) {
        Set<String> live = new HashSet<>();
        for (Value v : g.outputs()) live.add(v.name());
        List<Node> kept = new ArrayList<>();
        List<Node> nodes = g.nodes().castToList();
        for (int i = nodes.size() - 1; i >= 0; i--) {
            Node n = nodes.get(i);
            if (n.outputs().anySatisfy(o -> live.contains(o.name()))) {
                kept.add(n);
                for (Value in : n.inputs()) if (!in.isNone()) live.add(in.name());
            }
        }
        if (kept.size() == nodes.size()) return g;
        ctx.count("removed nodes", nodes.size() - kept.size());
        Collections.reverse(kept);
        return g.withNodes(kept);
    }
}
