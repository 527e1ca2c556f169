package dev.kiln.passes.fusion;

import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Value;
import dev.kiln.passes.Pass;
import dev.kiln.passes.PassContext;
import dev.kiln.passes.Property;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * fuse-epilogues: {@code relu(MatMul(x, w) + b) + r -> Fused[matmul]} (and Conv/ConvTranspose ->
 * Fused[conv]): the elementwise ops after a contraction that keep its output shape (other operands broadcast
 * to it), grown from its output in graph order, each reading a value already in the group. The group is the
 * largest such set with exactly one value read outside it (or a graph output) that stays convex, so a forked
 * epilogue that joins again (decomposed Gelu {@code x * 0.5 * (1 + erf(x / sqrt 2))}, SiLU {@code x * sigmoid(x)})
 * fuses whole, while a fork that does not join stops where it forks, as a chain does. With one escaping value
 * per group (every member reaches it), groups that are each convex cannot form a cycle between them. A link
 * that joins two contractions ({@code MatMul(x, a) + MatMul(x, b)}) goes to the first only: groups are disjoint.
 * <p>Run after {@code recognize-attention} (QK^T's scale would otherwise become an epilogue) and before
 * {@code fuse-reductions} and {@code fuse-elementwise}, so bias and residual adds land in the GEMM.
 */
public final class FuseEpilogues implements Pass {
    public static final String NAME = "fuse-epilogues";

    public FuseEpilogues() {}

    @Override public String name() { return NAME; }

    @Override public Set<Property> establishes() { return Set.of(Property.EPILOGUES_FUSED); }

    @Override public Graph run(Graph g, PassContext ctx) {
        FusionGroups.Index ix = new FusionGroups.Index(g);
        List<FusionGroups.Group> groups = new ArrayList<>();
        Set<Integer> taken = new HashSet<>();
        for (int i = 0; i < ix.nodes.size(); i++) {
            Node c = ix.node(i);
            if (!FusionGroups.isContraction(c) || !FusionGroups.staticShape(c.output(0))) continue;
            Set<Integer> members = epilogue(ix, i, taken);
            if (members.size() == 1) continue;
            taken.addAll(members);
            String kind = c.op().equals("MatMul") ? "matmul" : "conv";
            groups.add(new FusionGroups.Group(members, kind));
            ctx.count(kind + " epilogues");
            ctx.count("ops fused", members.size() - 1);
        }
        return FusionGroups.apply(ix, groups);
    }

    /** The contraction at {@code c} and the largest epilogue with one escaping value, grown in graph order. */
    private static Set<Integer> epilogue(FusionGroups.Index ix, int c, Set<Integer> taken) {
        Value out = ix.node(c).output(0);
        Set<Integer> members = new HashSet<>(List.of(c)), best = Set.copyOf(members);
        PriorityQueue<Integer> next = new PriorityQueue<>(ix.users(out));
        while (!next.isEmpty()) {
            int u = next.poll();
            Node n = ix.node(u);
            if (members.contains(u) || taken.contains(u) || !FusionGroups.elementwise(n) || !FusionGroups.sameShape(n.output(0), out)) continue;
            members.add(u);
            if (!ix.convex(members, Map.of())) {
                members.remove(u);
                continue;
            }
            next.addAll(ix.users(n.output(0)));
            if (escaping(ix, members) == 1) best = Set.copyOf(members);
        }
        return best;
    }

    /** How many member values are read outside the group or are graph outputs. */
    private static int escaping(FusionGroups.Index ix, Set<Integer> members) {
        int k = 0;
        for (int m : members) {
            Value o = ix.node(m).output(0);
            if (ix.isGraphOutput(o) || !members.containsAll(ix.users(o))) k++;
        }
        return k;
    }
}
