package dev.kiln.passes;

import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Value;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * plan-memory: liveness-based placement of every activation in one arena. A value is live from the node that
 * defines it (graph inputs: from the start) to its last reader (graph outputs: to the end). Values are placed
 * largest first at the lowest offset that does not overlap a value live at the same time (offsets aligned to
 * 256 bytes). Views ({@code isView} nodes: reshapes and the like) share their source's bytes and extend its
 * life. Constants go to a separate weights block. It reads the graph and never changes it.
 */
public final class PlanMemory {
    public static final long ALIGN = 256;

    private PlanMemory() {}

    public static MemoryPlan plan(Graph g, Predicate<Node> isView) {
        Map<String, String> root = new HashMap<>();           // view value -> value owning the bytes
        Map<String, Long> bytes = new LinkedHashMap<>();
        Map<String, int[]> life = new HashMap<>();           // [first, last] node index
        Map<String, MemoryPlan.Slot> weights = new LinkedHashMap<>();
        long weightOff = 0;
        int end = g.nodes().size();
        for (Value in : g.inputs()) define(in, -1, bytes, life);
        List<Node> nodes = g.nodes().castToList();
        for (int i = 0; i < nodes.size(); i++) {
            Node n = nodes.get(i);
            for (Value in : n.inputs()) if (!in.isNone()) use(rootOf(root, in.name()), i, life);
            if (n.op().equals("Constant")) {
                long sz = align(storageBytes(n.output(0)));
                weights.put(n.output(0).name(), new MemoryPlan.Slot(weightOff, storageBytes(n.output(0))));
                weightOff += sz;
                continue;
            }
            if (isView.test(n) && !n.input(0).isNone() && !weights.containsKey(rootOf(root, n.input(0).name()))) {
                root.put(n.output(0).name(), rootOf(root, n.input(0).name()));
                continue;
            }
            for (Value o : n.outputs()) if (!o.isNone()) define(o, i, bytes, life);
        }
        for (Value o : g.outputs()) {
            String r = rootOf(root, o.name());
            if (life.containsKey(r)) life.get(r)[1] = end;
        }
        // place largest first; first fit among the slots live at the same time
        List<String> order = new ArrayList<>(bytes.keySet());
        order.sort(Comparator.comparingLong((String v) -> -bytes.get(v)).thenComparing(v -> life.get(v)[0]));
        Map<String, MemoryPlan.Slot> arena = new LinkedHashMap<>();
        List<String> placed = new ArrayList<>();
        long peak = 0, naive = 0;
        for (String v : order) {
            long size = align(bytes.get(v));
            naive += size;
            int[] lv = life.get(v);
            TreeMap<Long, Long> busy = new TreeMap<>();
            for (String p : placed) {
                int[] lp = life.get(p);
                if (lp[0] <= lv[1] && lv[0] <= lp[1]) busy.merge(arena.get(p).offset(), align(arena.get(p).bytes()), Math::max);
            }
            long off = 0;
            for (Map.Entry<Long, Long> e : busy.entrySet()) {
                if (e.getKey() >= off + size) break;
                off = Math.max(off, e.getKey() + e.getValue());
            }
            arena.put(v, new MemoryPlan.Slot(off, bytes.get(v)));
            placed.add(v);
            peak = Math.max(peak, off + size);
        }
        for (Map.Entry<String, String> e : root.entrySet()) {
            MemoryPlan.Slot src = arena.get(e.getValue());
            arena.put(e.getKey(), src);
        }
        return new MemoryPlan(arena, weights, peak, weightOff, naive);
    }

    private static String rootOf(Map<String, String> root, String v) {
        String r = v;
        while (root.containsKey(r)) r = root.get(r);
        return r;
    }

    private static void define(Value v, int at, Map<String, Long> bytes, Map<String, int[]> life) {
        bytes.put(v.name(), storageBytes(v));
        life.put(v.name(), new int[] {at, at});
    }

    private static void use(String v, int at, Map<String, int[]> life) {
        int[] l = life.get(v);
        if (l != null) l[1] = Math.max(l[1], at);
    }

    /** Device bytes of a value: sub-byte types are stored one element per byte, like host tensors. */
    public static long storageBytes(Value v) {
        return Math.max(1, v.shape().numel() * Math.max(1, v.dtype().storageBytes()));
    }

    static long align(long n) { return (n + ALIGN - 1) / ALIGN * ALIGN; }
}
