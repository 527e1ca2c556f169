package dev.kiln.passes.fusion;

import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.passes.Pass;
import dev.kiln.passes.PassContext;
import dev.kiln.passes.Property;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * group-singles: every compute node left outside a group becomes a one-node {@code Fused} of the kind for
 * its op ({@code MatMul -> Fused[matmul]}, Transpose -> movement, ReduceSum -> reduce, ...). Constants,
 * Reshapes with a constant target shape (views) and Fused nodes stay; ops with no kind stay too, and codegen
 * reports them. Runs last among the fusion passes and establishes {@link Property#FUSED}.
 */
public final class GroupSingles implements Pass {
    public static final String NAME = "group-singles";

    public GroupSingles() {}

    @Override public String name() { return NAME; }

    @Override public Set<Property> establishes() { return Set.of(Property.FUSED); }

    @Override public Graph run(Graph g, PassContext ctx) {
        FusionGroups.Index ix = new FusionGroups.Index(g);
        List<FusionGroups.Group> groups = new ArrayList<>();
        for (int i = 0; i < ix.nodes.size(); i++) {
            Node n = ix.node(i);
            if (n.op().equals("Constant") || n.op().equals("Fused") || isView(ix, n)) continue;
            String kind = FusionGroups.kindOf(n);
            if (kind == null) {
                ctx.count("left without a kind");
                continue;
            }
            groups.add(new FusionGroups.Group(Set.of(i), kind));
            ctx.count("single " + kind);
        }
        return FusionGroups.apply(ix, groups);
    }

    private static boolean isView(FusionGroups.Index ix, Node n) {
        return n.op().equals("Reshape") && n.hasInput(1) && ix.constant(n.input(1)) != null;
    }
}
