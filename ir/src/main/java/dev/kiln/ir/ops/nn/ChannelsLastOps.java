package dev.kiln.ir.ops.nn;

import dev.kiln.ir.Dim;
import dev.kiln.ir.Node;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.op.EvalContext;
import dev.kiln.ir.op.InferContext;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.op.Trait;
import dev.kiln.ir.ops.movement.LayoutOps;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Channels-last forms of Conv, MaxPool and AveragePool, made by the {@code channels-last} pass (never imported):
 * X is {@code [N, D1..Dn, C]} and the result {@code [N, O1..On, M]}; NhwcConv's weight is {@code [M, k1..kn, C/group]}
 * (the channel axis last, like X, so one filter tap's channels are contiguous) and its bias {@code [M]}. The
 * attributes, and so the window arithmetic, are exactly those of the channels-first op. Each is defined as its
 * channels-first op with the channel axis moved to position 1 on the way in and back to the end on the way out,
 * so shape inference and the reference semantics are those of Conv and the pools, not a second copy of them.
 * (The names follow ONNX Runtime's internal NHWC ops.)
 */
public final class ChannelsLastOps {
    private ChannelsLastOps() {}

    public static void register(OpRegistry.Builder r) {
        r.add(OpDef.op("NhwcConv").inputs(2, 3).outputs(1).check(ConvOps::checkGroup)
                .infer(c -> lastInfer(c, Set.of(0, 1), ConvOps::inferConv)).eval(c -> lastEval(c, Set.of(0, 1), ConvOps::conv)));
        r.add(OpDef.op("NhwcMaxPool").traits(Trait.REDUCTION).inputs(1).outputs(1)
                .check(n -> PoolOps.flag(n, "storage_order"))
                .infer(c -> lastInfer(c, Set.of(0), cf -> PoolOps.pooled(cf, null)))
                .eval(c -> lastEval(c, Set.of(0), cf -> PoolOps.pool(cf, PoolOps.Kind.MAX).subList(0, 1))));
        r.add(OpDef.op("NhwcAveragePool").traits(Trait.REDUCTION).inputs(1).outputs(1)
                .check(n -> PoolOps.flag(n, "count_include_pad"))
                .infer(c -> lastInfer(c, Set.of(0), cf -> PoolOps.pooled(cf, null)))
                .eval(c -> lastEval(c, Set.of(0), cf -> PoolOps.pool(cf, PoolOps.Kind.AVG))));
    }

    /** Channels-first op -> its channels-last form. */
    private static final Map<String, String> LAST = Map.of("Conv", "NhwcConv", "MaxPool", "NhwcMaxPool", "AveragePool", "NhwcAveragePool");

    /** The channels-last op of a channels-first one, or null: {@code Conv -> NhwcConv}. */
    public static String channelsLast(String op) { return LAST.get(op); }

    /** {@code [0, r-1, 1, ..., r-2]}: the permutation (Transpose perm) that takes channels-last to channels-first. */
    public static long[] toFirst(int rank) {
        long[] p = new long[rank];
        p[1] = rank - 1;
        for (int d = 2; d < rank; d++) p[d] = d - 1;
        return p;
    }

    /** {@code [0, 2, ..., r-1, 1]}: the permutation that takes channels-first to channels-last. */
    public static long[] toLast(int rank) {
        long[] p = new long[rank];
        for (int d = 1; d < rank - 1; d++) p[d] = d + 1;
        p[rank - 1] = 1;
        return p;
    }

    private static List<TensorType> lastInfer(InferContext c, Set<Integer> moved, Function<InferContext, List<TensorType>> first) {
        if (c.hasInput(0) && c.inputType(0).shape().ranked() && c.inputType(0).rank() < 3)
            throw c.error("input " + c.inputType(0) + " needs rank 3 or more (N, spatial..., C)");
        InferContext cf = new InferContext() {
            @Override public Node node() { return c.node(); }
            @Override public int numInputs() { return c.numInputs(); }
            @Override public boolean hasInput(int i) { return c.hasInput(i); }
            @Override public TensorType inputType(int i) {
                TensorType t = c.inputType(i);
                return moved.contains(i) && t.shape().ranked() ? t.withShape(permute(t.shape(), toFirst(t.rank()))) : t;
            }
            @Override public Tensor constantInput(int i) {
                Tensor t = c.constantInput(i);
                return t != null && moved.contains(i) ? permute(t, toFirst(t.rank())) : t;
            }
        };
        List<TensorType> out = new ArrayList<>();
        for (TensorType t : first.apply(cf)) out.add(t.shape().ranked() ? t.withShape(permute(t.shape(), toLast(t.rank()))) : t);
        return out;
    }

    private static List<Tensor> lastEval(EvalContext c, Set<Integer> moved, Function<EvalContext, List<Tensor>> first) {
        List<Tensor> in = new ArrayList<>();
        for (int i = 0; i < c.numInputs(); i++) {
            Tensor t = c.input(i);
            in.add(t != null && moved.contains(i) ? permute(t, toFirst(t.rank())) : t);
        }
        EvalContext cf = new EvalContext() {
            @Override public Node node() { return c.node(); }
            @Override public int numInputs() { return in.size(); }
            @Override public boolean hasInput(int i) { return i < in.size() && in.get(i) != null; }
            @Override public Tensor input(int i) { return i < in.size() ? in.get(i) : null; }
        };
        List<Tensor> out = new ArrayList<>();
        for (Tensor t : first.apply(cf)) out.add(permute(t, toLast(t.rank())));
        return out;
    }

    private static Shape permute(Shape s, long[] perm) {
        List<Dim> d = new ArrayList<>();
        for (long p : perm) d.add(s.dim((int) p));
        return Shape.of(d);
    }

    /** Transpose semantics ({@link LayoutOps#transpose}). */
    static Tensor permute(Tensor t, long[] perm) {
        int[] p = new int[perm.length];
        for (int a = 0; a < p.length; a++) p[a] = (int) perm[a];
        return LayoutOps.transpose(t, p);
    }
}
