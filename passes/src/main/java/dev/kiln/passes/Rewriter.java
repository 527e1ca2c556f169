package dev.kiln.passes;

import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Value;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Bookkeeping for passes that replace values: records "uses of A now read B", applies it to later nodes'
 * inputs and to the graph outputs. A replaced graph output keeps its name through an Identity node so the
 * graph's interface never changes.
 */
public final class Rewriter {
    private final Graph graph;
    private final Map<String, Value> replaced = new HashMap<>();

    public Rewriter(Graph graph) { this.graph = graph; }

    public void replace(Value old, Value with) {
        if (old.isNone() || old.name().equals(with.name())) return;
        replaced.put(old.name(), resolve(with));
    }

    public Value resolve(Value v) {
        Value r = v;
        while (!r.isNone() && replaced.containsKey(r.name())) r = replaced.get(r.name());
        return r;
    }

    public Node remapInputs(Node n) {
        if (replaced.isEmpty()) return n;
        return n.withInputs(n.inputs().collect(this::resolve).castToList());
    }

    /** The graph with these nodes; graph outputs that were replaced are re-exposed under their own names. */
    public Graph finish(List<Node> nodes) {
        List<Node> all = new ArrayList<>(nodes);
        for (Value o : graph.outputs()) {
            Value r = resolve(o);
            if (r != o && !isGraphInputOrOutputAlready(r, o))
                all.add(Node.of("Identity", List.of(r), List.of(o), Map.of(), "output " + o.name()));
        }
        return graph.withNodes(all);
    }

    private static boolean isGraphInputOrOutputAlready(Value r, Value o) { return r.name().equals(o.name()); }
}
