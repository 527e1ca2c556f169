package dev.kiln.profile;

import dev.kiln.ir.Attr;
import dev.kiln.ir.Node;
import dev.kiln.ir.Value;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.op.Trait;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The work of one kernel-producing node, from static shapes and dtypes: a small cost model, not a count of
 * what the generated code executes.
 * <ul>
 *   <li>MatMul: 2·M·N·K per batch (output elements × 2K).</li>
 *   <li>Conv: 2·N·M·outSpatial·(C/g)·kernelSpatial (output elements × 2 × weight elements per output
 *       channel); ConvTranspose likewise from the input side: input elements × 2 × (M/g)·kernelSpatial.</li>
 *   <li>Attention: 2·B·H·S·L·(D + Dv) (QKᵀ and PV; 4·B·H·S·L·D when Dv = D), half that with {@code is_causal}.</li>
 *   <li>Pooling: output elements × window size. Every other elementwise op: one FLOP per output element;
 *       a reduction: one per input element; movement and views: none.</li>
 * </ul>
 * Bytes: each distinct input of the node read once plus each output written once (what a kernel must move at
 * least; re-reads through cache are not counted).
 *
 * @param computeDtype the dtype of the contraction's operands (the dtype its compute ceiling is taken for), else
 *                     of the node's first output
 * @param contraction  whether the node holds a MatMul, Conv, ConvTranspose or Attention
 */
public record KernelCost(String kind, double flops, long bytes, String computeDtype, boolean contraction) {

    public static final KernelCost UNKNOWN = new KernelCost("?", 0, 0, "f32", false);

    /** FLOPs per byte; 0 when nothing moves. */
    public double intensity() { return bytes == 0 ? 0 : flops / bytes; }

    /** The same kind and dtype with no FLOPs or bytes: for a node's later launches, its cost being on the first. */
    public KernelCost withoutWork() { return new KernelCost(kind, 0, 0, computeDtype, contraction); }

    public static KernelCost of(Node n) {
        Map<String, Value> moved = new LinkedHashMap<>();
        for (Value v : n.inputs()) if (!v.isNone()) moved.putIfAbsent(v.name(), v);
        long bytes = moved.values().stream().mapToLong(KernelCost::bytes).sum();
        for (Value v : n.outputs()) if (!v.isNone()) bytes += bytes(v);
        String dtype = n.outputs().isEmpty() ? "f32" : n.output(0).dtype().textName();
        Iterable<Node> body = java.util.List.of(n);
        String kind = n.op();
        if (n.op().equals("Fused") && n.attrs().get("body") instanceof Attr.GraphValue g) {
            body = g.value().nodes();
            kind = n.attrString("kind", "fused");
        }
        double flops = 0;
        boolean contraction = false;
        for (Node b : body) {
            flops += flops(b);
            if (CONTRACTIONS.contains(b.op()) && !contraction) {
                contraction = true;
                dtype = b.input(0).dtype().textName();
            }
        }
        return new KernelCost(kind, flops, bytes, dtype, contraction);
    }

    static final java.util.Set<String> CONTRACTIONS = java.util.Set.of("MatMul", "Conv", "ConvTranspose", "Attention", "NhwcConv");

    /** FLOPs of one primitive op (see the class comment). */
    static double flops(Node b) {
        switch (b.op()) {
            case "Constant", "Reshape" -> { return 0; }
            case "MatMul" -> {
                long[] a = b.input(0).shape().sizes();
                return 2.0 * numel(b.output(0)) * a[a.length - 1];
            }
            case "Conv", "NhwcConv" -> {
                long[] w = b.input(1).shape().sizes();
                return 2.0 * numel(b.output(0)) * (numel(b.input(1)) / (double) w[0]);
            }
            case "ConvTranspose" -> {
                long[] w = b.input(1).shape().sizes();
                return 2.0 * numel(b.input(0)) * (numel(b.input(1)) / (double) w[0]);
            }
            case "Attention" -> {
                long[] q = b.input(0).shape().sizes(), k = b.input(1).shape().sizes(), v = b.input(2).shape().sizes();
                double f = 2.0 * q[0] * q[1] * q[2] * k[2] * (q[3] + v[3]);
                return b.attrInt("is_causal", 0) != 0 ? f / 2 : f;
            }
            case "MaxPool", "AveragePool", "NhwcMaxPool", "NhwcAveragePool" -> {
                long window = 1;
                for (long s : b.attrInts("kernel_shape")) window *= s;
                return (double) numel(b.output(0)) * window;
            }
            default -> {
                OpRegistry ops = OpRegistry.standard();
                if (!ops.contains(b.op()) || ops.get(b.op()).has(Trait.MOVEMENT)) return 0;
                if (ops.get(b.op()).has(Trait.REDUCTION)) return numel(b.input(0));
                return ops.get(b.op()).has(Trait.ELEMENTWISE) ? numel(b.output(0)) : 0;
            }
        }
    }

    private static long numel(Value v) { return v.shape().numel(); }

    private static long bytes(Value v) { return v.shape().numel() * v.dtype().storageBytes(); }
}
