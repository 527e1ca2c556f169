package dev.kiln.passes;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.FloatFormats;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.op.Trait;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * convert-precision: computes a float32 graph in f16 or bf16 where that is safe. f32 constants become
 * target-typed constants (finite values beyond the f16 range clamp to ±65504, so {@code -1e9} masks stay
 * finite); f32 graph inputs are Cast to the target at first use and f32 graph outputs Cast back to f32 under
 * their own names, so the graph's interface stays f32. Every other f32 value becomes the target type, with
 * output types re-inferred. Integer and bool values are untouched. With target f32 the pass does nothing.
 *
 * <p>Kept in f32 (their f32 inputs are Cast up, their results are Cast down where a low-precision node reads
 * them), because half precision loses too much there:
 * <ul>
 *   <li>the reductions {@code ReduceSum} and {@code ReduceProd} (softmax's sum, normalization statistics, means);</li>
 *   <li>their prologue: an {@code Exp}, {@code Mul} or {@code Abs} whose result a ReduceSum/ReduceProd reads
 *       (softmax's exponentials, the squares of a variance or RMS, an L1 norm: f16 overflows at 65504);</li>
 *   <li>what follows them elementwise: an elementwise node (not a Cast) reading a result of a kept node,
 *       transitively (mean = sum/n, x - mean, var + eps, the normalized value and its scale/bias; softmax's
 *       division), so a normalization or softmax is computed in f32 up to the next non-elementwise op and
 *       rounded once (AMP style); this halved the worst error on tiny_block;</li>
 *   <li>{@code Pow};</li>
 *   <li>shape computations: {@code Range}, and every f32 node feeding a Range, a Resize's roi/scales or a
 *       Cast to an integer type, transitively (those inputs themselves stay f32 too);</li>
 *   <li>with {@code f32Residuals} (on by default), the residual stream: an {@code Add} whose result is read both by
 *       a normalization's statistic (a kept sum, or the square feeding one, as in the decomposed LayerNorm or
 *       RMSNorm) and by another {@code Add} (the next residual connection), and through the elementwise rule
 *       above every Add after it on the stream. In a pre-LN transformer ({@code x = x + f(LN(x))}) that is
 *       each block's two residual Adds (and the embedding sum), so only the branch outputs {@code f(..)} are
 *       rounded to f16, never the accumulated hidden state, which would otherwise gain one f16 rounding per
 *       layer (Megatron's fp32 residual connections). Post-LN ({@code x = LN(x + f(x))}) already has it: the
 *       Add reads the f32 normalization. The Add then usually fuses into the matmul epilogue of {@code f}
 *       (the branch's f16 result cast up inside the kernel, an f32 store) and the next LayerNorm reads f32
 *       without a Cast, so the kernel count stays the same; the stream costs 2 more bytes per element.</li>
 * </ul>
 * Runs after canonicalize and folding (one form per op, constants folded) and before fusion, after
 * recognize-attention so the softmax inside attention is matched without Casts in the way.
 */
public final class ConvertPrecision implements Pass {
    public static final String NAME = "convert-precision";
    private static final OpRegistry REGISTRY = OpRegistry.standard();
    private static final Set<String> KEEP_OPS = Set.of("ReduceSum", "ReduceProd", "Pow", "Range");
    private static final Set<String> SUMS = Set.of("ReduceSum", "ReduceProd");
    private static final Set<String> PROLOGUE = Set.of("Exp", "Mul", "Abs");
    /** A kept node of these reads its input as a statistic (a sum, or a square or power feeding one). */
    private static final Set<String> STATISTICS = Set.of("ReduceSum", "ReduceProd", "Mul", "Abs", "Pow");
    private static final double F16_MAX = 65504;

    private final DType target;
    private final boolean f32Residuals;

    /**
     * @param target       F32 (no-op), F16 or BF16
     * @param f32Residuals keep the residual stream in f32 (see the class comment)
     */
    public ConvertPrecision(DType target, boolean f32Residuals) {
        if (target != DType.F32 && target != DType.F16 && target != DType.BF16)
            throw new IllegalArgumentException("convert-precision targets f32, f16 or bf16, not " + target);
        this.target = target;
        this.f32Residuals = f32Residuals;
    }

    /** With the residual stream in f32. */
    public ConvertPrecision(DType target) { this(target, true); }

    /** The f16 conversion (what {@code --after convert-precision} and pipeline strings get). */
    public ConvertPrecision() { this(DType.F16); }

    public DType target() { return target; }

    public boolean f32Residuals() { return f32Residuals; }

    @Override public String name() { return NAME; }

    @Override public Set<Property> requires() { return Set.of(Property.CANONICAL); }

    @Override public Graph run(Graph g, PassContext ctx) {
        if (target == DType.F32) return g;
        Set<Node> keep = keptInF32(g, f32Residuals, ctx);
        return new Rewrite(g, keep, ctx).run();
    }

    // ---- analysis: which nodes compute in f32 ----

    private static boolean isF32(Value v) { return !v.isNone() && v.dtype() == DType.F32; }

    private static boolean castsToNonFloat(Node n) {
        return n.op().equals("Cast") && !DType.fromOnnx((int) n.attrInt("to")).isFloat();
    }

    /** Inputs that are shape arithmetic: their f32 producers (transitively) stay f32. */
    private static List<Value> shapeInputs(Node n) {
        return switch (n.op()) {
            case "Range" -> n.inputs().castToList();
            case "Resize" -> List.of(n.input(1), n.input(2));
            case "Cast" -> castsToNonFloat(n) ? List.of(n.input(0)) : List.of();
            default -> List.of();
        };
    }

    static Set<Node> keptInF32(Graph g, boolean f32Residuals, PassContext ctx) {
        Set<Node> keep = Collections.newSetFromMap(new IdentityHashMap<>());
        Map<String, Node> producer = new HashMap<>();
        Map<String, List<Node>> users = new HashMap<>();
        for (Node n : g.nodes()) {
            for (Value o : n.outputs()) if (!o.isNone()) producer.put(o.name(), n);
            for (Value i : n.inputs()) if (!i.isNone()) users.computeIfAbsent(i.name(), k -> new ArrayList<>()).add(n);
        }
        Deque<Value> shapeish = new ArrayDeque<>();
        for (Node n : g.nodes()) {
            if (n.op().equals("Constant")) continue;
            if (KEEP_OPS.contains(n.op()) || castsToNonFloat(n)) keep.add(n);
            if (PROLOGUE.contains(n.op()) && n.outputs().size() == 1
                    && users.getOrDefault(n.output(0).name(), List.of()).stream().anyMatch(u -> SUMS.contains(u.op())))
                keep.add(n);
            shapeish.addAll(shapeInputs(n));
        }
        Set<String> seen = new HashSet<>();
        while (!shapeish.isEmpty()) {
            Value v = shapeish.pop();
            if (!isF32(v) || !seen.add(v.name())) continue;
            Node p = producer.get(v.name());
            if (p == null || p.op().equals("Constant")) continue;
            keep.add(p);
            for (Value i : p.inputs()) if (isF32(i)) shapeish.push(i);
        }
        if (f32Residuals) {
            Set<Node> stream = residualStream(g, keep, users);
            keep.addAll(stream);
            if (!stream.isEmpty()) ctx.count("residual adds in f32", stream.size());
        }
        // what follows kept nodes elementwise stays with them (rounded once, at the next non-elementwise op)
        for (Node n : g.nodes()) {
            if (keep.contains(n) || n.op().equals("Constant") || n.op().equals("Cast")) continue;
            OpDef def = REGISTRY.get(n.op());
            if (!def.has(Trait.ELEMENTWISE)) continue;
            for (Value i : n.inputs()) {
                Node p = isF32(i) ? producer.get(i.name()) : null;
                if (p != null && keep.contains(p)) { keep.add(n); break; }
            }
        }
        return keep;
    }

    /**
     * The residual stream's Adds: those read by a statistic kept so far (a sum, or the square feeding one) and by
     * another Add, and the Adds reading one of them, transitively (the last block's Add feeds only the final norm).
     */
    private static Set<Node> residualStream(Graph g, Set<Node> stats, Map<String, List<Node>> users) {
        Set<Node> stream = Collections.newSetFromMap(new IdentityHashMap<>());
        Set<String> streamValues = new HashSet<>();
        for (Node n : g.nodes()) {   // in order, so a stream Add is known before the Adds reading it
            if (!n.op().equals("Add") || !isF32(n.output(0))) continue;
            List<Node> readers = users.getOrDefault(n.output(0).name(), List.of());
            boolean seed = readers.stream().anyMatch(u -> stats.contains(u) && STATISTICS.contains(u.op()))
                    && readers.stream().anyMatch(u -> u.op().equals("Add"));
            if (seed || n.inputs().anySatisfy(i -> streamValues.contains(i.name()))) {
                stream.add(n);
                streamValues.add(n.output(0).name());
            }
        }
        return stream;
    }

    // ---- rewrite ----

    private final class Rewrite {
        private final Graph old;
        private final Set<Node> keep;
        private final PassContext ctx;
        private final List<Node> nodes = new ArrayList<>();
        private final Map<String, Value> natural = new HashMap<>();   // old value name -> its new value
        private final Map<String, Value> views = new HashMap<>();     // old name + "@" + dtype -> Cast or constant
        private final Map<String, Tensor> constants = new HashMap<>();  // new value name -> value
        private final Map<String, Tensor> oldConstants = new HashMap<>();
        private final Set<String> names = new HashSet<>();
        private final Set<String> outputNames = new HashSet<>();
        private int next;

        Rewrite(Graph old, Set<Node> keep, PassContext ctx) {
            this.old = old;
            this.keep = keep;
            this.ctx = ctx;
            for (Value v : old.inputs()) { names.add(v.name()); natural.put(v.name(), v); }
            for (Node n : old.nodes()) for (Value o : n.outputs()) if (!o.isNone()) names.add(o.name());
            for (Value o : old.outputs()) outputNames.add(o.name());
        }

        Graph run() {
            Map<String, List<Node>> users = new HashMap<>();
            for (Node n : old.nodes())
                for (Value i : n.inputs()) if (!i.isNone()) users.computeIfAbsent(i.name(), k -> new ArrayList<>()).add(n);
            for (Node n : old.nodes()) {
                if (n.op().equals("Constant")) {
                    Value o = n.output(0);
                    Tensor t = n.attrTensor("value");
                    oldConstants.put(o.name(), t);
                    boolean lowUser = users.getOrDefault(o.name(), List.of()).stream().anyMatch(u -> !keep.contains(u));
                    if (t.dtype() == DType.F32 && lowUser && !outputNames.contains(o.name())) {
                        t = convert(t, target);
                        ctx.count("constants converted");
                    }
                    Value c = new Value(o.name(), t.type());
                    append(n.withOutputs(List.of(c)).withAttr("value", Attr.of(t)));
                    natural.put(o.name(), c);
                    continue;
                }
                emit(n);
            }
            List<Value> outs = new ArrayList<>();
            for (Value o : old.outputs()) outs.add(isF32(o) ? view(o, DType.F32) : natural.get(o.name()));
            return new Graph(old.name(), old.inputs(), nodes, outs);
        }

        private void emit(Node n) {
            boolean f32 = keep.contains(n);
            DType cd = f32 ? DType.F32 : target;
            if (f32) ctx.count("nodes kept in f32");
            List<Value> shapeIn = shapeInputs(n);
            List<Value> in = new ArrayList<>(n.inputs().size());
            for (Value v : n.inputs()) {
                if (v.isNone()) in.add(v);
                else if (isF32(v)) in.add(view(v, shapeIn.contains(v) ? DType.F32 : cd));
                else in.add(natural.get(v.name()));
            }
            Node m = n.withInputs(in);
            if (!f32 && n.op().equals("Cast") && n.attrInt("to") == DType.F32.onnxCode())
                m = m.withAttr("to", Attr.of((long) target.onnxCode()));
            List<TensorType> types = infer(m);
            List<Value> outs = new ArrayList<>();
            List<Value[]> restore = new ArrayList<>();   // [low value, f32 graph output name holder]
            for (int i = 0; i < n.outputs().size(); i++) {
                Value o = n.output(i);
                if (o.isNone()) { outs.add(o); continue; }
                TensorType t = o.type().withDType(types.get(i).dtype());
                Value nv = new Value(o.name(), t);
                if (outputNames.contains(o.name()) && isF32(o) && t.dtype() != DType.F32) {
                    nv = new Value(fresh(o.name()), t);   // the f32 Cast back takes the output's name
                    restore.add(new Value[] {nv, o});
                }
                outs.add(nv);
                natural.put(o.name(), nv);
            }
            append(m.withOutputs(outs));
            for (Value[] r : restore) {
                Value back = new Value(r[1].name(), r[1].type());
                append(Node.of("Cast", List.of(r[0]), List.of(back), Map.of("to", Attr.of((long) DType.F32.onnxCode())), n.origin()));
                views.put(r[1].name() + "@" + DType.F32, back);
                ctx.count("outputs cast back to f32");
            }
        }

        /** The old f32 value {@code v} as dtype {@code dt}: itself, a converted constant, or a (shared) Cast. */
        private Value view(Value v, DType dt) {
            Value nat = natural.get(v.name());
            if (nat == null) throw new IllegalStateException("value %" + v.name() + " used before it is defined");
            if (nat.dtype() == dt) return nat;
            String key = v.name() + "@" + dt;
            Value r = views.get(key);
            if (r != null) return r;
            Tensor t = oldConstants.get(v.name());
            if (t != null) {
                Tensor c = dt == DType.F32 ? t : convert(t, dt);
                r = new Value(fresh(v.name()), c.type());
                append(Node.of("Constant", List.of(), List.of(r), Map.of("value", Attr.of(c)), ""));
            } else {
                r = new Value(fresh(v.name()), nat.type().withDType(dt));
                append(Node.of("Cast", List.of(nat), List.of(r), Map.of("to", Attr.of((long) dt.onnxCode())), ""));
                ctx.count(dt == DType.F32 ? "casts up" : "casts down");
            }
            views.put(key, r);
            return r;
        }

        private List<TensorType> infer(Node m) { return Emitter.infer(m, constants, old.name()); }

        private void append(Node m) {
            nodes.add(m);
            if (m.op().equals("Constant")) constants.put(m.output(0).name(), m.attrTensor("value"));
        }

        private String fresh(String base) {
            String s;
            do { s = base + "_p" + next++; } while (names.contains(s));
            names.add(s);
            return s;
        }
    }

    /** {@code t} (f32) as f16/bf16 (round to nearest even); finite f32 values beyond f16's range clamp to ±65504. */
    static Tensor convert(Tensor t, DType dt) {
        // element by element into the new storage (no double[], which would be 4x the f32 weights, and no
        // copy), in blocks on all cores: a gigabyte of weights is 300M conversions
        byte[] out = new byte[t.numel() * 2];
        int n = t.numel(), blocks = (n + BLOCK - 1) / BLOCK;
        boolean f32 = t.dtype() == DType.F32;
        java.util.stream.IntStream.range(0, blocks).parallel().forEach(b -> {
            int start = b * BLOCK, end = Math.min(n, start + BLOCK);
            if (f32) convertF32(t, dt, out, start, end);
            else for (int i = start; i < end; i++) {
                double v = t.getDouble(i);
                if (dt == DType.F16 && Double.isFinite(v)) v = Math.max(-F16_MAX, Math.min(F16_MAX, v));
                put16(out, i, FloatFormats.encode(dt, v, false));
            }
        });
        return Tensor.adopt(dt, t.shape(), out);
    }

    /**
     * The f32 weights' loop, kept small and free of doubles and dispatch so that the JIT compiles it early: in a
     * fresh JVM the generic loop ran partly interpreted and took 2-4 s for BERT-base's 110M weights.
     */
    private static void convertF32(Tensor t, DType dt, byte[] out, int start, int end) {
        float max = (float) F16_MAX;
        boolean f16 = dt == DType.F16;
        for (int i = start; i < end; i++) {
            float v = t.getFloat(i);
            if (f16 && Float.isFinite(v)) v = Math.max(-max, Math.min(max, v));
            put16(out, i, FloatFormats.encode16(dt, v));
        }
    }

    private static void put16(byte[] out, int i, int bits) {
        out[2 * i] = (byte) bits;
        out[2 * i + 1] = (byte) (bits >>> 8);
    }

    private static final int BLOCK = 1 << 18;
}
