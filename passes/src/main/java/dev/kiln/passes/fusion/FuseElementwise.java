package dev.kiln.passes.fusion;

import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Value;
import dev.kiln.passes.Pass;
import dev.kiln.passes.PassContext;
import dev.kiln.passes.Property;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * fuse-elementwise: {@code a(b(x), c(y)) -> Fused[elementwise]} for maximal DAGs of elementwise ops (incl.
 * Cast and Where) whose outputs all have one shape, the group's iteration shape; smaller operands broadcast
 * into it. Greedy in graph order: each elementwise node joins the groups of its elementwise producers of the
 * same shape when the union stays convex (no path leaves the group and re-enters it). A value read outside
 * the group becomes an extra output. Groups of one node are left to {@code group-singles}.
 * <p>Run after {@code fuse-epilogues} and {@code fuse-reductions}, which take the elementwise ops they can
 * absorb into GEMM and row kernels first.
 */
public final class FuseElementwise implements Pass {
    public static final String NAME = "fuse-elementwise";

    public FuseElementwise() {}

    @Override public String name() { return NAME; }

    @Override public Graph run(Graph g, PassContext ctx) {
        FusionGroups.Index ix = new FusionGroups.Index(g);
        Map<Integer, Set<Integer>> groupOf = new HashMap<>();
        for (int i = 0; i < ix.nodes.size(); i++) {
            Node n = ix.node(i);
            if (!FusionGroups.elementwise(n)) continue;
            Set<Integer> group = new HashSet<>(List.of(i));
            for (Value v : n.inputs()) {
                int p = ix.producer(v);
                Set<Integer> other = p < 0 ? null : groupOf.get(p);
                if (other == null || group.containsAll(other) || !FusionGroups.sameShape(ix.node(p).output(0), n.output(0))) continue;
                Set<Integer> union = new HashSet<>(group);
                union.addAll(other);
                if (ix.convex(union, groupOf)) group = union;
            }
            for (int m : group) groupOf.put(m, group);
        }
        Map<Set<Integer>, Boolean> distinct = new LinkedHashMap<>();
        for (int i = 0; i < ix.nodes.size(); i++) {
            Set<Integer> s = groupOf.get(i);
            if (s != null && s.size() > 1) distinct.putIfAbsent(s, true);
        }
        List<FusionGroups.Group> groups = new ArrayList<>();
        for (Set<Integer> s : distinct.keySet()) {
            groups.add(new FusionGroups.Group(s, "elementwise"));
            ctx.count("groups");
            ctx.count("ops fused", s.size());
        }
        return FusionGroups.apply(ix, groups);
    }
}
