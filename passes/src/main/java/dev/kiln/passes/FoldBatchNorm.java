package dev.kiln.passes;

import dev.kiln.ir.Attr;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.Value;
import dev.kiln.ir.op.Shapes;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * fold-batchnorm: an inference BatchNormalization whose only input is the output of a Conv, Gemm or 2-D
 * MatMul with constant weights (and constant BN parameters) is folded into that producer: with
 * {@code s = scale / sqrt(var + eps)} per output channel, {@code W' = W·s} and {@code b' = (b - mean)·s + B}
 * (Conv: bias input; Gemm: C with beta folded in; MatMul: a new Add). The producer must have no other user.
 * Folding is done in double and rounded once into the weights' type.
 */
public final class FoldBatchNorm implements Pass {
    public static final String NAME = "fold-batchnorm";

    @Override public String name() { return NAME; }

    @Override public Graph run(Graph g, PassContext ctx) {
        Emitter e = new Emitter(g);
        Map<String, Node> foldInto = new HashMap<>(); // producer's output name -> the BN folded into it
        for (Node bn : g.nodes()) {
            Node p = candidate(g, e, bn);
            if (p != null) foldInto.put(p.output(0).name(), bn);
        }
        Map<String, Node> producers = new HashMap<>();
        for (Node n : g.nodes()) {
            if (!n.outputs().isEmpty() && foldInto.containsKey(n.output(0).name())) {
                producers.put(foldInto.get(n.output(0).name()).output(0).name(), n);
                continue; // emitted at its BatchNormalization, with folded weights
            }
            Node p = n.op().equals("BatchNormalization") ? producers.get(n.output(0).name()) : null;
            if (p == null) { e.copy(n); continue; }
            e.bind(n, 0, fold(g, e, p, n));
            ctx.count("folded into " + p.op());
        }
        return e.finish();
    }

    /** The producer a BN folds into, or null when it does not apply. */
    private static Node candidate(Graph g, Emitter e, Node bn) {
        if (!bn.op().equals("BatchNormalization") || bn.attrInt("training_mode", 0) != 0) return null;
        for (int i = 1; i < bn.outputs().size(); i++) if (!bn.output(i).isNone()) return null;
        for (int i = 1; i <= 4; i++) if (g.constantValue(bn.input(i)) == null || g.constantValue(bn.input(i)).rank() != 1) return null;
        Value x = bn.input(0);
        Node p = g.producer(x);
        if (p == null || e.uses(x) != 1 || !x.dtype().isFloat() || !x.shape().ranked()) return null;
        Tensor w = g.constantValue(p.input(1));
        if (w == null) return null;
        return switch (p.op()) {
            case "Conv" -> !p.hasInput(2) || g.constantValue(p.input(2)) != null ? p : null;
            case "Gemm" -> !p.hasInput(2) || g.constantValue(p.input(2)) != null ? p : null;
            case "MatMul" -> x.shape().rank() == 2 && w.rank() == 2 ? p : null;
            default -> null;
        };
    }

    private static Value fold(Graph g, Emitter e, Node p, Node bn) {
        double eps = bn.attrFloat("epsilon", 1e-5);
        double[] scale = g.constantValue(bn.input(1)).toDoubles(), beta = g.constantValue(bn.input(2)).toDoubles();
        double[] mean = g.constantValue(bn.input(3)).toDoubles(), var = g.constantValue(bn.input(4)).toDoubles();
        int c = scale.length;
        double[] s = new double[c];
        for (int k = 0; k < c; k++) s[k] = scale[k] / Math.sqrt(var[k] + eps);
        Tensor w = g.constantValue(p.input(1));
        double[] wv = w.toDoubles();
        long[] ws = w.shape();
        String origin = p.origin().isEmpty() ? bn.origin() : p.origin() + "," + bn.origin();
        switch (p.op()) {
            case "Conv" -> {
                int per = wv.length / c; // W is [M, C/group, k...]: channel m is one contiguous block
                for (int i = 0; i < wv.length; i++) wv[i] *= s[i / per];
                double[] b = p.hasInput(2) ? g.constantValue(p.input(2)).toDoubles() : new double[c];
                double[] nb = new double[c];
                for (int k = 0; k < c; k++) nb[k] = (b[k] - mean[k]) * s[k] + beta[k];
                Value nw = e.constant(Tensor.ofDoubles(w.dtype(), ws, wv));
                Value nbv = e.constant(Tensor.ofDoubles(w.dtype(), new long[] {c}, nb));
                return e.op("Conv", p.attrs().castToSortedMap(), origin, e.get(p.input(0)), nw, nbv);
            }
            case "Gemm" -> {
                boolean tb = p.attrInt("transB", 0) != 0;
                long cols = tb ? ws[0] : ws[1];
                for (int i = 0; i < wv.length; i++) wv[i] *= s[(int) (tb ? i / ws[1] : i % cols)];
                long[] cs = p.hasInput(2) ? Shapes.broadcast(g.constantValue(p.input(2)).shape(), new long[] {c}) : new long[] {c};
                double[] nc = new double[(int) dev.kiln.ir.Tensor.numel(cs)];
                double[] cv = p.hasInput(2) ? g.constantValue(p.input(2)).toDoubles() : null;
                int[] idx = p.hasInput(2) ? Shapes.broadcastIndex(g.constantValue(p.input(2)).shape(), cs) : null;
                double b = p.attrFloat("beta", 1.0);
                for (int j = 0; j < nc.length; j++) {
                    int k = j % c;
                    nc[j] = ((cv == null ? 0 : b * cv[idx[j]]) - mean[k]) * s[k] + beta[k];
                }
                Value nw = e.constant(Tensor.ofDoubles(w.dtype(), ws, wv));
                Value ncv = e.constant(Tensor.ofDoubles(w.dtype(), cs, nc));
                Map<String, Attr> attrs = new HashMap<>(p.attrs().castToSortedMap());
                attrs.put("beta", Attr.of(1.0));
                return e.op("Gemm", attrs, origin, e.get(p.input(0)), nw, ncv);
            }
            default -> { // MatMul [M,K] x [K,N]
                for (int i = 0; i < wv.length; i++) wv[i] *= s[(int) (i % ws[1])];
                double[] nb = new double[c];
                for (int k = 0; k < c; k++) nb[k] = beta[k] - mean[k] * s[k];
                Value nw = e.constant(Tensor.ofDoubles(w.dtype(), ws, wv));
                Value nbv = e.constant(Tensor.ofDoubles(w.dtype(), new long[] {c}, nb));
                Value mm = e.op("MatMul", origin, e.get(p.input(0)), nw);
                return e.op("Add", Map.of(), origin, mm, nbv);
            }
        }
    }

}
