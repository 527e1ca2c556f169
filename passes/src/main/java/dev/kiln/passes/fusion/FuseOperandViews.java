package dev.kiln.passes.fusion;

import dev.kiln.ir.Attr;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.StridedView;
import dev.kiln.ir.Value;
import dev.kiln.ir.ViewOps;
import dev.kiln.passes.Pass;
import dev.kiln.passes.PassContext;
import dev.kiln.passes.Property;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * fuse-operand-views: {@code Attention(Transpose(Reshape(Slice(qkv))), ...) -> Fused[attention](qkv, ...)} and
 * {@code Reshape(Transpose(Attention(q, k, v))) -> Fused[attention]}: the Transpose/Reshape/Slice chains
 * ({@link ViewOps}) next to a contraction (MatMul, Attention; for Conv only the store side) move into its
 * group, where the kernel reads or writes through strides
 * instead of a movement kernel copying. A prologue view is the longest chain ending at a MatMul's A or B or an
 * Attention's Q, K or V that {@link StridedView} can express from the chain's source; each contraction gets its
 * own copy of a shared chain (views cost nothing) and an original left without readers disappears. A store view
 * is the chain of Transposes and Reshapes that is the only use of a contraction's one result, as far as strides
 * express it; store views are chosen first, so the consumer then reads a plain buffer. Chains of Reshapes alone
 * stay outside (they are free aliases already). Bare contractions get a group of their own; matmul and conv
 * groups made by {@code fuse-epilogues} are reopened and rebuilt with their views.
 * <p>Runs after {@code fuse-epilogues} (so a bias or activation is already in the matmul's group) and before
 * {@code group-singles}, which would otherwise give each Transpose and Slice a movement kernel.
 */
public final class FuseOperandViews implements Pass {
    public static final String NAME = "fuse-operand-views";

    /**
     * Contraction ops and how many of their first inputs may be read through a view (MatMul A, B; Attention Q, K, V;
     * none for a convolution, whose kernel walks windows: it only gets store views, the patch flatten of a ViT).
     */
    private static final Map<String, Integer> OPERANDS = Map.of("MatMul", 2, "Attention", 3, "Conv", 0, "ConvTranspose", 0, "NhwcConv", 0);

    /** The group kind of each contraction op. */
    private static final Map<String, String> KIND = Map.of("MatMul", "matmul", "Attention", "attention", "Conv", "conv", "ConvTranspose", "conv", "NhwcConv", "conv");

    public FuseOperandViews() {}

    @Override public String name() { return NAME; }

    @Override public Set<Property> requires() { return Set.of(Property.ATTENTION_RECOGNIZED, Property.EPILOGUES_FUSED); }

    /** A contraction: a bare MatMul/Attention node, or a Fused group around one; {@code main} is the op itself. */
    private record Unit(int pos, Node node, Node main, String kind) {
        boolean bare() { return node == main; }

        /** The outer value main-op input {@code k} reads, or null when it is computed inside the group. */
        Value operand(int k) {
            if (bare()) return node.input(k);
            Graph body = body(node);
            for (int i = 0; i < body.inputs().size(); i++) if (body.inputs().get(i).equals(main.input(k))) return node.input(i);
            return null;
        }
    }

    /** A prologue chain: original view nodes, source first, ending at main-op input {@code operand}. */
    private record Chain(int operand, List<Integer> nodes) {}

    @Override public Graph run(Graph g, PassContext ctx) {
        FusionGroups.Index ix = new FusionGroups.Index(g);
        Map<Integer, Unit> units = new LinkedHashMap<>();
        for (int i = 0; i < ix.nodes.size(); i++) {
            Unit u = unitOf(i, ix.node(i));
            if (u != null) units.put(i, u);
        }
        Set<Integer> claimed = new HashSet<>();
        Map<Integer, List<Integer>> stores = new HashMap<>();
        for (Unit u : units.values()) {
            List<Integer> s = storeChain(ix, u);
            if (s.isEmpty()) continue;
            stores.put(u.pos(), s);
            claimed.addAll(s);
            ctx.count("store views");
            ctx.count("view ops absorbed", s.size());
        }
        Map<Integer, List<Chain>> prologues = new HashMap<>();
        for (Unit u : units.values())
            for (int k = 0; k < OPERANDS.get(u.main().op()); k++) {
                Value x = u.operand(k);
                List<Integer> c = x == null ? List.of() : prologueChain(ix, x, claimed);
                if (c.isEmpty()) continue;
                prologues.computeIfAbsent(u.pos(), p -> new ArrayList<>()).add(new Chain(k, c));
                ctx.count("prologue views");
                ctx.count("view ops absorbed", c.size());
            }
        if (stores.isEmpty() && prologues.isEmpty()) return g;
        Set<Integer> removable = removable(ix, units, prologues);

        // the graph with each affected unit opened up (its chains copied in front of it), then regrouped
        Set<String> used = new HashSet<>();
        for (Value v : g.inputs()) used.add(v.name());
        for (Node n : g.nodes()) for (Value o : n.outputs()) if (!o.isNone()) used.add(o.name());
        List<Node> nodes = new ArrayList<>();
        List<List<Node>> members = new ArrayList<>();
        List<String> kinds = new ArrayList<>();
        Map<Integer, List<Node>> membersOf = new HashMap<>();
        Set<Integer> renamed = new HashSet<>(); // removable chain nodes whose first copy took their name
        for (int i = 0; i < ix.nodes.size(); i++) {
            Unit u = units.get(i);
            boolean affected = u != null && (stores.containsKey(i) || prologues.containsKey(i));
            if (!affected) {
                if (removable.contains(i)) continue;
                nodes.add(ix.node(i));
                List<Node> m = null;
                for (var e : stores.entrySet()) if (e.getValue().contains(i)) m = membersOf.get(e.getKey());
                if (m != null) m.add(ix.node(i));
                continue;
            }
            List<Node> group = new ArrayList<>();
            Map<Integer, Value> operandReads = new HashMap<>();
            for (Chain c : prologues.getOrDefault(i, List.of())) {
                Value last = copyChain(ix, c, removable, renamed, used, group);
                operandReads.put(c.operand(), last);
            }
            if (u.bare()) {
                List<Value> ins = new ArrayList<>(u.node().inputs().castToList());
                operandReads.forEach(ins::set);
                group.add(u.node().withInputs(ins));
            } else {
                group.addAll(FusionGroups.inline(u.node(), used, Map.of(u.main(), operandReads)));
            }
            nodes.addAll(group);
            members.add(group);
            kinds.add(u.kind());
            membersOf.put(i, group);
            ctx.count("groups");
        }
        Graph open = g.withNodes(nodes);
        FusionGroups.Index ox = new FusionGroups.Index(open);
        Map<Node, Integer> position = new IdentityHashMap<>();
        for (int i = 0; i < ox.nodes.size(); i++) position.put(ox.node(i), i);
        List<FusionGroups.Group> groups = new ArrayList<>();
        for (int j = 0; j < members.size(); j++) {
            Set<Integer> m = new HashSet<>();
            for (Node n : members.get(j)) m.add(position.get(n));
            groups.add(new FusionGroups.Group(m, kinds.get(j)));
        }
        return FusionGroups.apply(ox, groups);
    }

    private static Graph body(Node fused) { return ((Attr.GraphValue) fused.attrs().get("body")).value(); }

    private static Unit unitOf(int pos, Node n) {
        if (OPERANDS.containsKey(n.op()) && FusionGroups.staticShape(n.output(0)))
            return new Unit(pos, n, n, KIND.get(n.op()));
        if (!n.op().equals("Fused") || !(n.attrs().get("body") instanceof Attr.GraphValue)) return null;
        String kind = n.attrString("kind", "");
        if (!KIND.containsValue(kind)) return null;
        Node main = null;
        for (Node b : body(n).nodes())
            if (OPERANDS.containsKey(b.op())) {
                if (main != null) return null;
                main = b;
            }
        return main == null ? null : new Unit(pos, n, main, kind);
    }

    private static boolean isView(Node n, Set<String> ops) {
        if (!ops.contains(n.op()) || n.outputs().size() != 1) return false;
        for (Value v : n.inputs()) if (!v.isNone() && !v.shape().isStatic()) return false;
        return FusionGroups.staticShape(n.output(0));
    }

    /** Whether a chain does more than rename dims: Reshapes alone need no kernel, so absorbing them gains nothing. */
    private static boolean moves(FusionGroups.Index ix, List<Integer> chain) {
        return chain.stream().anyMatch(p -> !ix.node(p).op().equals("Reshape"));
    }

    /**
     * The Transpose/Reshape nodes that are, one after the other, the only use of the unit's one result, cut to
     * the longest prefix whose inverse strides express (built backwards from the last value's row-major layout).
     */
    private static List<Integer> storeChain(FusionGroups.Index ix, Unit u) {
        if (u.node().outputs().size() != 1) return List.of();
        List<Integer> chain = new ArrayList<>();
        Value cur = u.node().output(0);
        while (ix.users(cur).size() == 1 && !ix.isGraphOutput(cur)) {
            Node n = ix.node(ix.users(cur).get(0));
            if (!isView(n, ViewOps.STORE_OPS) || !n.input(0).equals(cur)) break;
            chain.add(ix.users(cur).get(0));
            cur = n.output(0);
        }
        for (int end = chain.size(); end > 0; end--) {
            List<Integer> c = chain.subList(0, end);
            StridedView s = StridedView.contiguous(ix.node(c.getLast()).output(0).shape().sizes());
            for (int i = c.size() - 1; i >= 0 && s != null; i--) s = ViewOps.unapply(ix.node(c.get(i)), s);
            if (s != null) return moves(ix, c) ? List.copyOf(c) : List.of();
        }
        return List.of();
    }

    /** The view nodes from an operand back towards its source, cut to the longest tail strides express. */
    private static List<Integer> prologueChain(FusionGroups.Index ix, Value x, Set<Integer> claimed) {
        List<Integer> chain = new ArrayList<>();
        for (Value cur = x; ; ) {
            int p = ix.producer(cur);
            if (p < 0 || claimed.contains(p) || !isView(ix.node(p), ViewOps.OPS)) break;
            chain.addFirst(p);
            cur = ix.node(p).input(0);
        }
        for (int start = 0; start < chain.size(); start++) {
            List<Integer> c = chain.subList(start, chain.size());
            StridedView v = StridedView.contiguous(ix.node(c.getFirst()).input(0).shape().sizes());
            for (int i = 0; i < c.size() && v != null; i++) v = ViewOps.apply(ix.node(c.get(i)), v, ix::constant);
            if (v != null) return moves(ix, c) ? List.copyOf(c) : List.of();
        }
        return List.of();
    }

    /**
     * Chain nodes that need not stay in the graph once every chain is copied into its group: nothing else reads
     * them (no graph output, no ordinary user, no unit still reading the value directly, no copied chain starting
     * at it, no chain node that stays). Decided from the last node back, so a node's users are decided first.
     */
    private static Set<Integer> removable(FusionGroups.Index ix, Map<Integer, Unit> units, Map<Integer, List<Chain>> prologues) {
        Set<Integer> inChains = new HashSet<>();
        Set<String> sources = new HashSet<>();
        Map<Integer, Set<String>> absorbed = new HashMap<>(); // unit -> operand values it no longer reads
        for (var e : prologues.entrySet())
            for (Chain c : e.getValue()) {
                inChains.addAll(c.nodes());
                sources.add(ix.node(c.nodes().getFirst()).input(0).name());
                absorbed.computeIfAbsent(e.getKey(), k -> new HashSet<>()).add(units.get(e.getKey()).operand(c.operand()).name());
            }
        Set<Integer> removable = new HashSet<>();
        List<Integer> order = new ArrayList<>(inChains);
        order.sort((a, b) -> Integer.compare(b, a));
        for (int p : order) {
            Value v = ix.node(p).output(0);
            boolean read = ix.isGraphOutput(v) || sources.contains(v.name());
            for (int u : ix.users(v)) {
                if (read) break;
                if (inChains.contains(u)) read = !removable.contains(u);
                else read = !absorbed.getOrDefault(u, Set.of()).contains(v.name()) || stillReads(units.get(u), v, prologues.get(u));
            }
            if (!read) removable.add(p);
        }
        return removable;
    }

    /** Whether a unit reads {@code v} other than through the main-op operands its chains replace. */
    private static boolean stillReads(Unit u, Value v, List<Chain> chains) {
        Set<Integer> replaced = new HashSet<>();
        for (Chain c : chains) replaced.add(c.operand());
        if (u.bare()) {
            for (int k = 0; k < u.node().inputs().size(); k++) if (u.node().input(k).equals(v) && !replaced.contains(k)) return true;
            return false;
        }
        Graph body = body(u.node());
        String inner = null;
        for (int i = 0; i < body.inputs().size(); i++) if (u.node().input(i).equals(v)) inner = body.inputs().get(i).name();
        for (Node n : body.nodes())
            for (int k = 0; k < n.inputs().size(); k++)
                if (n.input(k).name().equals(inner) && !(n == u.main() && replaced.contains(k))) return true;
        return false;
    }

    /**
     * Copies a chain in front of its unit: a removable node's first copy keeps its name (the original goes), other
     * copies get fresh names. Returns the copy of the chain's last value.
     */
    private static Value copyChain(FusionGroups.Index ix, Chain c, Set<Integer> removable, Set<Integer> renamed, Set<String> used, List<Node> out) {
        Value prev = ix.node(c.nodes().getFirst()).input(0);
        for (int p : c.nodes()) {
            Node n = ix.node(p);
            Value copy = n.output(0);
            if (!removable.contains(p) || !renamed.add(p)) {
                String name = copy.name() + ".view";
                for (int k = 2; used.contains(name); k++) name = copy.name() + ".view" + k;
                used.add(name);
                copy = new Value(name, copy.type());
            }
            List<Value> ins = new ArrayList<>(n.inputs().castToList());
            ins.set(0, prev);
            out.add(n.withInputs(ins).withOutputs(List.of(copy)));
            prev = copy;
        }
        return prev;
    }
}
