package dev.kiln.passes.fusion;

import dev.kiln.ir.Attr;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.Value;
import dev.kiln.ir.ViewOps;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.op.Trait;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.TreeSet;

/**
 * The group extraction shared by the fusion passes: a use index over a graph, the convexity check (no path
 * leaves a group and re-enters it, so the group can become one node without a cycle), and {@link #apply},
 * which turns disjoint sets of nodes into {@code Fused} nodes (it rejects overlapping ones). A body is closed:
 * values from outside are body inputs (the node's inputs, in first-use order), except scalars and small integer
 * constants, which are copied into the body so codegen sees them as literals and reductions see constant axes
 * ({@link #inline}: float tables stay inputs, so layers that differ only in weights share kernels). Member outputs read outside the group or
 * exposed as graph outputs become the node's outputs. Body values are renamed {@code <group>.<name>} so names
 * stay unique across nesting (the text form requires it). Nodes are then re-sorted topologically, stably.
 */
final class FusionGroups {
    static final OpRegistry OPS = OpRegistry.standard();
    /** Integer and bool constants up to this many elements are copied into bodies instead of passed in. */
    static final int INLINE_CONSTANT_LIMIT = 64;

    /** Ops whose kernels read every operand from memory: their constants stay inputs (weights, biases). */
    private static final Set<String> CONTRACTIONS = Set.of("MatMul", "Conv", "ConvTranspose", "Attention", "MaxPool", "AveragePool",
            "NhwcConv", "NhwcMaxPool", "NhwcAveragePool");

    private FusionGroups() {}

    /** Producer and users of every value of one graph, by node position. */
    static final class Index {
        final Graph graph;
        final List<Node> nodes;
        private final Map<String, Integer> producer = new HashMap<>();
        private final Map<String, List<Integer>> users = new HashMap<>();
        private final Set<String> graphOutputs = new HashSet<>();

        Index(Graph g) {
            graph = g;
            nodes = g.nodes().castToList();
            for (int i = 0; i < nodes.size(); i++) {
                Node n = nodes.get(i);
                for (Value o : n.outputs()) if (!o.isNone()) producer.put(o.name(), i);
                for (Value v : n.inputs())
                    if (!v.isNone()) {
                        List<Integer> u = users.computeIfAbsent(v.name(), k -> new ArrayList<>());
                        if (u.isEmpty() || u.getLast() != i) u.add(i);
                    }
            }
            for (Value o : g.outputs()) graphOutputs.add(o.name());
        }

        Node node(int i) { return nodes.get(i); }

        /** Position of the node defining {@code v}, or -1 for graph inputs and omitted values. */
        int producer(Value v) { return v.isNone() ? -1 : producer.getOrDefault(v.name(), -1); }

        /** Positions of the distinct nodes reading {@code v}. */
        List<Integer> users(Value v) { return users.getOrDefault(v.name(), List.of()); }

        boolean isGraphOutput(Value v) { return graphOutputs.contains(v.name()); }

        /** {@code v} is read by exactly one node and is not a graph output. */
        boolean soleUse(Value v, int user) {
            List<Integer> u = users(v);
            return u.size() == 1 && u.get(0) == user && !isGraphOutput(v);
        }

        Tensor constant(Value v) {
            int p = producer(v);
            return p >= 0 && nodes.get(p).op().equals("Constant") ? nodes.get(p).attrTensor("value") : null;
        }

        /**
         * True when no path leaves {@code group} and comes back into it, in the graph where each of the
         * {@code formed} groups (node to its group; may be empty) is already one node. Checking against the
         * formed groups keeps the groups of one pass free of cycles between them, not only within each.
         */
        boolean convex(Collection<Integer> group, Map<Integer, Set<Integer>> formed) {
            Set<Integer> in = group instanceof Set<Integer> s ? s : new HashSet<>(group);
            // nodes are in topological order: nothing before the first member is downstream of a member, so the
            // walk stops there (without this bound every check walks all ancestors: quadratic in model size)
            int first = Integer.MAX_VALUE;
            for (int m : in) first = Math.min(first, m);
            ArrayDeque<Integer> stack = new ArrayDeque<>();
            for (int m : in) pushProducers(m, in, first, stack);
            BitSet seen = new BitSet();
            while (!stack.isEmpty()) {
                int p = stack.pop();
                if (seen.get(p)) continue;
                seen.set(p);
                if (in.contains(p)) return false;
                Set<Integer> other = formed.get(p);
                if (other == null) pushProducers(p, Set.of(), first, stack);
                else for (int o : other) {
                    if (in.contains(o)) return false;
                    seen.set(o);
                    pushProducers(o, other, first, stack);
                }
            }
            return true;
        }

        private void pushProducers(int node, Set<Integer> except, int first, ArrayDeque<Integer> stack) {
            for (Value v : nodes.get(node).inputs()) {
                int p = producer(v);
                if (p >= first && !except.contains(p)) stack.push(p);
            }
        }
    }

    static OpDef def(Node n) { return OPS.contains(n.op()) ? OPS.get(n.op()) : null; }

    static boolean staticShape(Value v) { return !v.isNone() && v.shape().isStatic(); }

    /**
     * An elementwise op (the ELEMENTWISE trait) with one output of static shape. Whether it has a C expression
     * is codegen's question: it reports the op by name, which beats silently leaving it unfused.
     */
    static boolean elementwise(Node n) {
        OpDef d = def(n);
        return d != null && d.has(Trait.ELEMENTWISE) && n.outputs().size() == 1 && staticShape(n.output(0));
    }

    static boolean isContraction(Node n) {
        return switch (n.op()) { case "MatMul", "Conv", "ConvTranspose", "NhwcConv" -> true; default -> false; };
    }

    /** The fused-group kind a single node of this op gets, or null when no template handles it. */
    static String kindOf(Node n) {
        switch (n.op()) {
            case "MatMul": return "matmul";
            case "Conv", "ConvTranspose", "NhwcConv": return "conv";
            case "MaxPool", "AveragePool", "NhwcMaxPool", "NhwcAveragePool": return "pool";
            case "Attention": return "attention";
            case "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ArgMax", "ArgMin": return "reduce";
            case "Transpose", "Slice", "Concat", "Gather", "GatherElements", "GatherND", "Expand", "Pad", "Tile", "DepthToSpace",
                 "SpaceToDepth", "Resize", "Trilu", "Reshape": return "movement";
            default: return elementwise(n) ? "elementwise" : null;
        }
    }

    static boolean sameShape(Value a, Value b) { return a.shape().equals(b.shape()); }

    /** One group to fuse: node positions of one {@link Index} and the kind. */
    record Group(Set<Integer> members, String kind) {
        Group { members = new TreeSet<>(members); }
    }

    /** The graph with each group replaced by one Fused node; constants left unused are dropped. */
    static Graph apply(Index ix, List<Group> groups) {
        if (groups.isEmpty()) return ix.graph;
        Map<Integer, Group> groupOf = new HashMap<>();
        for (Group gr : groups)
            for (int m : gr.members())
                if (groupOf.putIfAbsent(m, gr) != null) // a shared member would leave one group reading a value nobody defines
                    throw new IllegalArgumentException("fusion groups overlap at node '" + ix.node(m).output(0).name() + "'");
        List<Node> out = new ArrayList<>();
        List<Integer> rank = new ArrayList<>();
        for (Group gr : groups) {
            out.add(fuse(ix, gr.members(), gr.kind(), groupOf));
            rank.add(((TreeSet<Integer>) gr.members()).last());
        }
        for (int i = 0; i < ix.nodes.size(); i++)
            if (!groupOf.containsKey(i)) {
                out.add(ix.node(i));
                rank.add(i);
            }
        // drop constants that only fed groups which copied them in
        Set<String> read = new HashSet<>();
        for (Node n : out) for (Value v : n.inputs()) if (!v.isNone()) read.add(v.name());
        List<Node> kept = new ArrayList<>();
        List<Integer> keptRank = new ArrayList<>();
        for (int i = 0; i < out.size(); i++) {
            Node n = out.get(i);
            boolean unusedConst = n.op().equals("Constant") && !read.contains(n.output(0).name())
                    && !ix.isGraphOutput(n.output(0)) && !ix.users(n.output(0)).isEmpty();
            if (!unusedConst) {
                kept.add(n);
                keptRank.add(rank.get(i));
            }
        }
        return ix.graph.withNodes(topoSort(ix.graph, kept, keptRank));
    }

    /**
     * Whether a constant read by a group of {@code kind} is copied into its body. Scalars are (they become
     * literals). Float tables are weights or biases and stay inputs, so that repeated layers, which differ only
     * in their weights, compile to one kernel; small integer and bool tables (axes, indices, masks) are
     * structure and are copied in, except into contraction groups, whose kernels read operands from memory.
     */
    static boolean inline(Tensor c, String kind) {
        if (c.numel() <= 1) return true;
        boolean contractionGroup = kind.equals("matmul") || kind.equals("conv");
        return !contractionGroup && !c.dtype().isFloat() && c.numel() <= INLINE_CONSTANT_LIMIT;
    }

    private static Node fuse(Index ix, Set<Integer> members, String kind, Map<Integer, Group> groupOf) {
        Group self = groupOf.get(members.iterator().next());
        int last = ((TreeSet<Integer>) members).last();
        String prefix = ix.node(last).output(0).name() + ".";
        Map<String, Value> local = new HashMap<>();
        List<Value> outerIn = new ArrayList<>(), bodyIn = new ArrayList<>();
        List<Node> body = new ArrayList<>();
        LinkedHashSet<String> origins = new LinkedHashSet<>();
        for (int m : members) {
            Node n = ix.node(m);
            List<Value> ins = new ArrayList<>();
            for (int k = 0; k < n.inputs().size(); k++) {
                Value v = n.input(k);
                if (v.isNone()) { ins.add(v); continue; }
                Value b = local.get(v.name());
                if (b == null) {
                    b = new Value(prefix + v.name(), v.type());
                    Tensor c = ix.constant(v);
                    // a view's shape or bounds (Reshape, Slice) are compile-time parameters, never read: always inlined
                    boolean viewParameter = k > 0 && ViewOps.OPS.contains(n.op());
                    if (c != null && (viewParameter ? c.numel() <= INLINE_CONSTANT_LIMIT : inline(c, kind)) && !CONTRACTIONS.contains(n.op())) {
                        body.add(Node.of("Constant", List.of(), List.of(b), Map.of("value", Attr.of(c)), ix.node(ix.producer(v)).origin()));
                    } else {
                        outerIn.add(v);
                        bodyIn.add(b);
                    }
                    local.put(v.name(), b);
                }
                ins.add(b);
            }
            List<Value> outs = new ArrayList<>();
            for (Value o : n.outputs()) {
                if (o.isNone()) { outs.add(o); continue; }
                Value b = new Value(prefix + o.name(), o.type());
                local.put(o.name(), b);
                outs.add(b);
            }
            body.add(n.withInputs(ins).withOutputs(outs));
            for (String s : n.origin().split(",")) if (!s.isBlank()) origins.add(s.strip());
        }
        List<Value> outerOut = new ArrayList<>(), bodyOut = new ArrayList<>();
        for (int m : members)
            for (Value o : ix.node(m).outputs()) {
                if (o.isNone()) continue;
                boolean escapes = ix.isGraphOutput(o) || ix.users(o).stream().anyMatch(u -> groupOf.get(u) != self);
                if (escapes) {
                    outerOut.add(o);
                    bodyOut.add(local.get(o.name()));
                }
            }
        if (outerOut.isEmpty()) { // a dead group still needs a result
            Value o = ix.node(last).output(0);
            outerOut.add(o);
            bodyOut.add(local.get(o.name()));
        }
        Graph g = new Graph(kind, bodyIn, body, bodyOut);
        Map<String, Attr> attrs = new LinkedHashMap<>();
        attrs.put("kind", Attr.of(kind));
        attrs.put("body", new Attr.GraphValue(g));
        return Node.of("Fused", outerIn, outerOut, attrs, String.join(",", origins));
    }

    /**
     * The nodes of a {@code Fused} node's body in the outer graph's names, so a pass can reopen a group and
     * fuse it again with more members: body inputs and outputs become the node's inputs and outputs, and the
     * other body values lose the group prefix that {@link #apply} gave them unless that name is in {@code used}
     * (then they keep it). {@code replace} redirects inputs of body nodes (by identity) to other outer values;
     * every name given out is added to {@code used}.
     */
    static List<Node> inline(Node fused, Set<String> used, Map<Node, Map<Integer, Value>> replace) {
        Graph body = ((Attr.GraphValue) fused.attrs().get("body")).value();
        Map<String, Value> outer = new HashMap<>();
        for (int i = 0; i < body.inputs().size(); i++) outer.put(body.inputs().get(i).name(), fused.input(i));
        for (int i = 0; i < body.outputs().size(); i++) outer.putIfAbsent(body.outputs().get(i).name(), fused.output(i));
        String b0 = body.outputs().get(0).name(), o0 = fused.output(0).name();
        String prefix = b0.endsWith(o0) ? b0.substring(0, b0.length() - o0.length()) : "";
        List<Node> out = new ArrayList<>();
        for (Node n : body.nodes()) {
            for (Value o : n.outputs()) {
                if (o.isNone() || outer.containsKey(o.name())) continue;
                String name = !prefix.isEmpty() && o.name().startsWith(prefix) ? o.name().substring(prefix.length()) : o.name();
                if (used.contains(name)) name = o.name();
                for (int k = 2; used.contains(name); k++) name = o.name() + "." + k;
                outer.put(o.name(), new Value(name, o.type()));
                used.add(name);
            }
            Map<Integer, Value> r = replace.getOrDefault(n, Map.of());
            List<Value> ins = new ArrayList<>();
            for (int k = 0; k < n.inputs().size(); k++)
                ins.add(r.containsKey(k) ? r.get(k) : n.input(k).isNone() ? n.input(k) : outer.get(n.input(k).name()));
            List<Value> outs = new ArrayList<>();
            for (Value o : n.outputs()) outs.add(o.isNone() ? o : outer.get(o.name()));
            out.add(n.withInputs(ins).withOutputs(outs));
        }
        return out;
    }

    /** Kahn's algorithm, taking ready nodes in the order of {@code rank} so untouched regions keep their order. */
    static List<Node> topoSort(Graph g, List<Node> nodes, List<Integer> rank) {
        Map<String, Integer> producer = new HashMap<>();
        for (int i = 0; i < nodes.size(); i++) for (Value o : nodes.get(i).outputs()) if (!o.isNone()) producer.put(o.name(), i);
        int[] pending = new int[nodes.size()];
        List<List<Integer>> dependents = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) dependents.add(new ArrayList<>());
        for (int i = 0; i < nodes.size(); i++) {
            Set<Integer> deps = new HashSet<>();
            for (Value v : nodes.get(i).inputs()) {
                Integer p = v.isNone() ? null : producer.get(v.name());
                if (p != null && deps.add(p)) dependents.get(p).add(i);
            }
            pending[i] = deps.size();
        }
        PriorityQueue<Integer> ready = new PriorityQueue<>((a, b) -> rank.get(a).equals(rank.get(b)) ? Integer.compare(a, b) : Integer.compare(rank.get(a), rank.get(b)));
        for (int i = 0; i < nodes.size(); i++) if (pending[i] == 0) ready.add(i);
        List<Node> sorted = new ArrayList<>(nodes.size());
        while (!ready.isEmpty()) {
            int i = ready.poll();
            sorted.add(nodes.get(i));
            for (int d : dependents.get(i)) if (--pending[d] == 0) ready.add(d);
        }
        if (sorted.size() != nodes.size())
            throw new IllegalStateException("fusion made a cycle in graph '" + g.name() + "'");
        return sorted;
    }

    static Shape shapeOf(Value v) { return v.shape(); }
}
