package dev.kiln.exec;

import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.Value;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Graph inputs that are shape tensors: small numeric inputs (integers, or Resize scales and Range bounds) that an op reads in a position that sets an output
 * shape (a Reshape/Expand/Tile target, ConstantOfShape's shape, pads, slice bounds, axes, Resize sizes, TopK's k,
 * Range bounds...). GPU kernels need static shapes, so the compiler specializes on their values, as it does on
 * input shapes; the compiled model is valid for those values only.
 */
public final class ShapeInputs {
    private ShapeInputs() {}

    /** op -> the input positions that decide output shapes (0-based). */
    private static final Map<String, Set<Integer>> POSITIONS = Map.ofEntries(
            Map.entry("Reshape", Set.of(1)), Map.entry("Expand", Set.of(1)), Map.entry("Tile", Set.of(1)),
            Map.entry("ConstantOfShape", Set.of(0)), Map.entry("Pad", Set.of(1, 3)), Map.entry("Slice", Set.of(1, 2, 3, 4)),
            Map.entry("Resize", Set.of(2, 3)), Map.entry("Squeeze", Set.of(1)), Map.entry("Unsqueeze", Set.of(1)),
            Map.entry("Split", Set.of(1)), Map.entry("TopK", Set.of(1)), Map.entry("Range", Set.of(0, 1, 2)),
            Map.entry("OneHot", Set.of(1)), Map.entry("ReduceSum", Set.of(1)), Map.entry("ReduceMean", Set.of(1)),
            Map.entry("ReduceMax", Set.of(1)), Map.entry("ReduceMin", Set.of(1)), Map.entry("ReduceProd", Set.of(1)),
            Map.entry("ReduceL1", Set.of(1)), Map.entry("ReduceL2", Set.of(1)), Map.entry("ReduceLogSum", Set.of(1)),
            Map.entry("ReduceLogSumExp", Set.of(1)), Map.entry("ReduceSumSquare", Set.of(1)), Map.entry("CumSum", Set.of(1)),
            Map.entry("Trilu", Set.of(1)));

    /** The shape-tensor inputs among {@code g}'s inputs, with their values from {@code inputs} (same order). */
    public static Map<String, Tensor> select(Graph g, List<Tensor> inputs) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (int i = 0; i < g.inputs().size() && i < inputs.size(); i++) {
            Value v = g.inputs().get(i);
            Tensor t = inputs.get(i);
            if (!(v.dtype().isInteger() || v.dtype().isFloat()) || t.numel() > 64 || !readAsShape(g, v)) continue;
            out.put(v.name(), t);
        }
        return out;
    }

    /** The inputs left once the bound ones are removed, in order. */
    public static List<Tensor> remaining(Graph g, List<Tensor> inputs, Map<String, Tensor> bound) {
        List<Tensor> out = new java.util.ArrayList<>();
        for (int i = 0; i < g.inputs().size(); i++) if (!bound.containsKey(g.inputs().get(i).name())) out.add(inputs.get(i));
        return out;
    }

    private static boolean readAsShape(Graph g, Value v) {
        for (Node n : g.nodes()) {
            Set<Integer> pos = POSITIONS.get(n.op());
            if (pos == null) continue;
            for (int i = 0; i < n.inputs().size(); i++) if (pos.contains(i) && n.input(i).name().equals(v.name())) return true;
        }
        return false;
    }
}
