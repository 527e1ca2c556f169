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
import java.util.Set;

/**
 * fuse-epilogues: {@code relu(MatMul(x, w) + b) + r -> Fused[matmul]} (and Conv/ConvTranspose ->
 * Fused[conv]): the chain of elementwise ops that starts at a contraction's output, as long as each link's
 * value has that one user, is not a graph output, and the op keeps the contraction's output shape (other
 * operands broadcast to it). Because every intermediate has one user nothing outside can depend on the group,
 * so no cycle can arise. Chains only: an epilogue that reads the output twice (decomposed Gelu) stops at the
 * fork; canonical Gelu is one op. A link that joins two chains ({@code MatMul(x, a) + MatMul(x, b)}) goes to
 * the first only: the groups must be disjoint.
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
            Set<Integer> members = new HashSet<>(List.of(i));
            Value cur = c.output(0);
            while (true) {
                List<Integer> users = ix.users(cur);
                if (users.size() != 1 || ix.isGraphOutput(cur)) break;
                Node u = ix.node(users.get(0));
                if (taken.contains(users.get(0)) || !FusionGroups.elementwise(u) || !FusionGroups.sameShape(u.output(0), c.output(0))) break;
                members.add(users.get(0));
                cur = u.output(0);
            }
            if (members.size() == 1) continue;
            taken.addAll(members);
            String kind = c.op().equals("MatMul") ? "matmul" : "conv";
            groups.add(new FusionGroups.Group(members, kind));
            ctx.count(kind + " epilogues");
            ctx.count("ops fused", members.size() - 1);
        }
        return FusionGroups.apply(ix, groups);
    }
}
