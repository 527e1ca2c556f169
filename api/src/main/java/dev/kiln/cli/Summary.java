package dev.kiln.cli;

import dev.kiln.frontend.ImportedModel;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.Value;

import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/** One-screen summaries of models and tensors for the CLI. */
final class Summary {
    private Summary() {}

    /** How a model's kernels were loaded, counted: {@code 31 CUBIN} or {@code 12 CUBIN, 1 NVRTC}. */
    static String loadModes(java.util.List<dev.kiln.runtime.plan.KernelBinary.LoadMode> modes) {
        Map<dev.kiln.runtime.plan.KernelBinary.LoadMode, Integer> n = new java.util.EnumMap<>(dev.kiln.runtime.plan.KernelBinary.LoadMode.class);
        for (var m : modes) n.merge(m, 1, Integer::sum);
        StringBuilder b = new StringBuilder();
        n.forEach((m, k) -> b.append(b.isEmpty() ? "" : ", ").append(k).append(' ').append(m));
        return b.isEmpty() ? "none" : b.toString();
    }

    static String of(ImportedModel m, long importMillis) {
        Graph g = m.graph();
        Map<String, Integer> ops = new TreeMap<>();
        long weightBytes = 0;
        int weights = 0;
        for (Node n : g.nodes()) {
            ops.merge(n.op(), 1, Integer::sum);
            if (n.op().equals("Constant")) {
                Tensor t = n.attrTensor("value");
                weights++;
                weightBytes += (long) t.numel() * Math.max(1, t.dtype().storageBytes());
            }
        }
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "// model %s: IR %d, opsets %s, producer %s%n", m.modelName(), m.irVersion(),
                m.opsets(), m.producerName()));
        b.append("// inputs:  ").append(values(g.inputs().castToList())).append('\n');
        b.append("// outputs: ").append(values(g.outputs().castToList())).append('\n');
        b.append(String.format(Locale.ROOT, "// %d nodes, %d constants (%.2f MiB), imported and verified in %d ms%n",
                g.nodes().size(), weights, weightBytes / 1048576.0, importMillis));
        b.append("// ops: ");
        ops.forEach((k, v) -> b.append(k).append('×').append(v).append(' '));
        return b.toString().stripTrailing();
    }

    private static String values(java.util.List<Value> vs) {
        StringBuilder b = new StringBuilder();
        for (Value v : vs) b.append(b.isEmpty() ? "" : ", ").append(v.name()).append(": ").append(v.type());
        return b.toString();
    }

    /** "f32[1,1000] min -3.2 max 4.1 mean 0.01 first [0.1, ...]" */
    static String tensor(String name, Tensor t) {
        StringBuilder b = new StringBuilder(name + ": " + t.dtype() + java.util.Arrays.toString(t.shape()).replace(" ", ""));
        if (t.dtype().isString() || t.numel() == 0) return b.toString();
        double[] s = t.dtype() == dev.kiln.ir.DType.F32 ? statsF32(t) : stats(t);
        b.append(String.format(Locale.ROOT, "  min %.6g  max %.6g  mean %.6g  first [", s[0], s[1], s[2] / t.numel()));
        for (int i = 0; i < Math.min(4, t.numel()); i++) b.append(i > 0 ? ", " : "").append(String.format(Locale.ROOT, "%.6g", t.getDouble(i)));
        return b.append(t.numel() > 4 ? ", ...]" : "]").toString();
    }

    /** Min, max and sum of every element. */
    private static double[] stats(Tensor t) {
        double min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int i = 0; i < t.numel(); i++) {
            double v = t.getDouble(i);
            min = Math.min(min, v);
            max = Math.max(max, v);
            sum += v;
        }
        return new double[] {min, max, sum};
    }

    /** {@link #stats} without the per-element dtype dispatch: GPT-2's 6.4 M logits took 50 ms of its first output that way. */
    private static double[] statsF32(Tensor t) {
        float min = Float.POSITIVE_INFINITY, max = Float.NEGATIVE_INFINITY;
        double sum = 0;
        for (int i = 0, n = t.numel(); i < n; i++) {
            float v = t.getFloat(i);
            min = Math.min(min, v);
            max = Math.max(max, v);
            sum += v;
        }
        return new double[] {min, max, sum};
    }
}
