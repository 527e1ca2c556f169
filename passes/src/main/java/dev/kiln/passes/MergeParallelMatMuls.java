package dev.kiln.passes;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.Value;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * merge-parallel-matmuls: {@code MatMul(x, Wq) + bq, MatMul(x, Wk) + bk, MatMul(x, Wv) + bv ->
 * Slice(MatMul(x, [Wq|Wk|Wv]) + [bq|bk|bv], ...)}: MatMuls that read the same A with constant rank-2 weights
 * of one dtype become one MatMul over the weights concatenated along N at compile time (the Q, K and V
 * projections: one wide GEMM instead of three narrow ones). A bias Add that is a member's only user, with a
 * constant bias broadcast along N only, is merged likewise (a member without one gets zeros); each member's
 * result becomes a Slice of the last axis, which {@code fuse-operand-views} later reads as a strided operand.
 * <p>After canonicalize and folding (one MatMul form, constant weights) and before {@code fuse-epilogues}, so the
 * merged bias becomes the merged GEMM's epilogue.
 */
public final class MergeParallelMatMuls implements Pass {
    public static final String NAME = "merge-parallel-matmuls";

    @Override public String name() { return NAME; }

    @Override public Set<Property> requires() { return Set.of(Property.CANONICAL, Property.CONSTANTS_FOLDED); }

    /** One MatMul to merge: the node, its weight, and its bias Add (or null) with the bias flattened to [N]. */
    private record Member(Node matmul, Tensor weight, Node add, Tensor bias) {
        long n() { return weight.shape()[1]; }

        Node last() { return add != null ? add : matmul; }
    }

    @Override public Graph run(Graph g, PassContext ctx) {
        Map<String, List<Member>> byInput = new LinkedHashMap<>();
        for (Node n : g.nodes()) {
            Member m = member(g, n);
            if (m != null) byInput.computeIfAbsent(n.input(0).name() + "/" + m.weight().dtype(), k -> new ArrayList<>()).add(m);
        }
        Map<Node, List<Member>> mergeAt = new HashMap<>(); // first member's MatMul -> its group
        Map<Node, Boolean> absorbed = new HashMap<>();
        for (List<Member> group : byInput.values()) {
            if (group.size() < 2) continue;
            mergeAt.put(group.getFirst().matmul(), group);
            for (Member m : group) {
                absorbed.put(m.matmul(), true);
                if (m.add() != null) absorbed.put(m.add(), true);
            }
        }
        if (mergeAt.isEmpty()) return g;
        Emitter e = new Emitter(g);
        for (Node n : g.nodes()) {
            List<Member> group = mergeAt.get(n);
            if (group != null) merge(group, e, ctx);
            else if (!absorbed.containsKey(n)) e.copy(n);
        }
        return e.finish();
    }

    /** A MatMul with a static output and a constant rank-2 float weight, with its bias Add if it has one. */
    private static Member member(Graph g, Node n) {
        if (!n.op().equals("MatMul") || !n.output(0).shape().isStatic() || !n.input(0).shape().isStatic()) return null;
        Tensor w = g.constantValue(n.input(1));
        if (w == null || w.shape().length != 2 || !w.dtype().isFloat() || w.dtype() != n.output(0).dtype()) return null;
        List<Node> users = g.users(n.output(0));
        if (users.size() != 1 || !users.getFirst().op().equals("Add") || g.outputs().contains(n.output(0))) return new Member(n, w, null, null);
        Node add = users.getFirst();
        Value other = add.input(0).equals(n.output(0)) ? add.input(1) : add.input(0);
        Tensor b = g.constantValue(other);
        long[] bs = b == null ? null : b.shape();
        boolean alongN = bs != null && bs.length >= 1 && bs.length <= n.output(0).shape().rank() && b.numel() == w.shape()[1]
                && bs[bs.length - 1] == w.shape()[1] && b.dtype() == w.dtype() && add.output(0).type().equals(n.output(0).type());
        return alongN ? new Member(n, w, add, b) : new Member(n, w, null, null);
    }

    /** Emits the merged MatMul (and bias Add), then each member's result as a Slice of it under the member's name. */
    private static void merge(List<Member> group, Emitter e, PassContext ctx) {
        Node first = group.getFirst().matmul();
        long k = group.getFirst().weight().shape()[0], total = 0;
        for (Member m : group) total += m.n();
        DType dt = group.getFirst().weight().dtype();
        // bytes, not doubles: the weights are concatenated row by row as stored (BERT-base: 85 MB per fp32 layer set)
        int es = dt.storageBytes();
        byte[] w = new byte[Math.toIntExact(k * total * es)], b = new byte[Math.toIntExact(total * es)];
        boolean anyBias = false;
        long col = 0;
        List<String> origins = new ArrayList<>();
        for (Member m : group) {
            byte[] wm = m.weight().storage();
            int rowBytes = Math.toIntExact(m.n() * es);
            for (int r = 0; r < k; r++) System.arraycopy(wm, r * rowBytes, w, Math.toIntExact((r * total + col) * es), rowBytes);
            if (m.bias() != null) {
                m.bias().copyStorageTo(b, Math.toIntExact(col * es)); // zeros where a member has no bias
                anyBias = true;
            }
            col += m.n();
            if (!m.matmul().origin().isBlank()) origins.add(m.matmul().origin());
        }
        String origin = String.join(",", origins);
        Value merged = e.op("MatMul", Map.of(), origin, e.get(first.input(0)), e.constant(Tensor.adopt(dt, new long[] {k, total}, w)));
        if (anyBias) {
            merged = e.op("Add", Map.of(), origin, merged, e.constant(Tensor.adopt(dt, new long[] {total}, b)));
            ctx.count("bias adds merged", group.stream().filter(m -> m.add() != null).count());
        }
        Value axis = e.longs(merged.shape().rank() - 1), start = e.longs(0);
        col = 0;
        for (Member m : group) {
            col += m.n();
            Value end = e.longs(col);
            e.bind(m.last(), 0, e.op("Slice", Map.of(), m.last().origin(), merged, start, end, axis));
            start = end;
        }
        ctx.count("groups");
        ctx.count("matmuls merged", group.size());
    }
}
