package dev.kiln.passes.fusion;

import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.Value;
import dev.kiln.ir.op.Shapes;
import dev.kiln.passes.Pass;
import dev.kiln.passes.PassContext;
import dev.kiln.passes.Property;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.List;
import java.util.Set;

/**
 * fuse-reductions: a row reduction with its elementwise prologue and epilogue -> one {@code Fused[reduce]}
 * (softmax: ReduceMax, Sub, Exp, ReduceSum, Div; layer norm; RMS norm; mean). A seed is a ReduceSum/Max/Min/
 * Prod with constant axes forming a trailing block and keepdims = 1, over iteration shape S (its input). The
 * group grows to neighbouring elementwise ops whose output is S or the reduced shape (S with the trailing axes
 * set to 1), and to reductions of S over the same axes, while it stays convex. So every body follows the
 * contract of docs/primitives.md: all reductions reduce the same trailing axes of one shape.
 * <p>Limitation: reductions over non-trailing axes or with keepdims = 0 are left alone; {@code group-singles}
 * gives each its own {@code reduce} group. Requires attention to be recognized first, or the softmax inside
 * attention would be fused here. Runs after {@code fuse-epilogues}, before {@code fuse-elementwise}.
 */
public final class FuseReductions implements Pass {
    public static final String NAME = "fuse-reductions";

    public FuseReductions() {}

    @Override public String name() { return NAME; }

    @Override public Set<Property> requires() { return Set.of(Property.ATTENTION_RECOGNIZED); }

    /** Iteration shape, reduced shape, reduced axes of a row reduction. */
    private record Row(Shape full, Shape reduced, long[] axes) {}

    @Override public Graph run(Graph g, PassContext ctx) {
        FusionGroups.Index ix = new FusionGroups.Index(g);
        Map<Integer, Set<Integer>> taken = new HashMap<>();
        List<FusionGroups.Group> groups = new ArrayList<>();
        for (int i = 0; i < ix.nodes.size(); i++) {
            if (taken.containsKey(i)) continue;
            Row row = rowOf(ix, ix.node(i));
            if (row == null) continue;
            Set<Integer> group = new HashSet<>(List.of(i));
            ArrayDeque<Integer> work = new ArrayDeque<>(List.of(i));
            Set<Integer> tried = new HashSet<>(group);
            while (!work.isEmpty()) {
                Node m = ix.node(work.poll());
                List<Integer> near = new ArrayList<>();
                for (Value v : m.inputs()) if (ix.producer(v) >= 0) near.add(ix.producer(v));
                for (Value o : m.outputs()) if (!o.isNone()) near.addAll(ix.users(o));
                for (int c : near) {
                    if (taken.containsKey(c) || !tried.add(c) || !fits(ix, ix.node(c), row)) continue;
                    group.add(c);
                    if (ix.convex(group, taken)) work.add(c);
                    else {
                        group.remove(c);
                        tried.remove(c); // may fit once more of the group is in
                    }
                }
            }
            for (int m : group) taken.put(m, group);
            groups.add(new FusionGroups.Group(group, "reduce"));
            ctx.count("reduce groups");
            ctx.count("reductions fused", group.stream().filter(k -> rowOf(ix, ix.node(k)) != null).count());
            ctx.count("elementwise ops fused", group.stream().filter(k -> rowOf(ix, ix.node(k)) == null).count());
        }
        return FusionGroups.apply(ix, groups);
    }

    private static boolean fits(FusionGroups.Index ix, Node n, Row row) {
        if (FusionGroups.elementwise(n)) {
            Shape s = n.output(0).shape();
            return s.equals(row.full()) || s.equals(row.reduced());
        }
        Row r = rowOf(ix, n);
        return r != null && r.full().equals(row.full()) && Arrays.equals(r.axes(), row.axes());
    }

    /** The row a reduction reduces, or null when it is not a trailing keepdims reduction with static shapes. */
    static Row rowOf(FusionGroups.Index ix, Node n) {
        switch (n.op()) {
            case "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd" -> { }
            default -> { return null; }
        }
        Value x = n.input(0);
        if (!FusionGroups.staticShape(x) || !FusionGroups.staticShape(n.output(0)) || n.attrInt("keepdims", 1) != 1) return null;
        int rank = x.shape().rank();
        long[] axes;
        if (!n.hasInput(1)) {
            if (n.attrInt("noop_with_empty_axes", 0) != 0) return null;
            axes = new long[rank];
            for (int a = 0; a < rank; a++) axes[a] = a;
        } else {
            Tensor t = ix.constant(n.input(1));
            if (t == null || t.numel() == 0) return null;
            axes = t.toLongs();
            for (int a = 0; a < axes.length; a++) axes[a] = Shapes.axis(axes[a], rank);
            Arrays.sort(axes);
        }
        for (int a = 0; a < axes.length; a++) if (axes[a] != rank - axes.length + a) return null;
        if (rank == 0) return null;
        return new Row(x.shape(), n.output(0).shape(), axes);
    }
}
