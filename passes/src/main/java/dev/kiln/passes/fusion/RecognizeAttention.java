package dev.kiln.passes.fusion;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.ir.op.Shapes;
import dev.kiln.passes.Pass;
import dev.kiln.passes.PassContext;
import dev.kiln.passes.Property;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * recognize-attention: {@code MatMul(softmax(mask(scale(MatMul(Q, Kt)))), V) -> Attention(Q, K, V, mask)}.
 * The scale is an optional Mul or Div by a constant scalar (the {@code scale} attribute is always set, 1.0
 * when absent); the mask an optional {@code Add} of a float bias or {@code Where(keep, s, -inf)} (bool
 * {@code attn_mask}; {@code Where(drop, -inf, s)} gets a {@code Not}); a constant lower-triangular mask
 * becomes {@code is_causal = 1}. Softmax is the decomposed ReduceMax, Sub, Exp, ReduceSum, Div over the last
 * axis, or a plain Softmax over it. Kt is K with its last two axes swapped: a Transpose whose composition with
 * that swap is the identity gives K directly, any other gets one new Transpose (simplify cancels pairs).
 * Only 4-D Q, K, V with equal batch and K/V heads equal to Q's or 1, and only when no value inside the pattern
 * has another user. The Attention node keeps the final MatMul's output name. A row whose keys are all masked
 * differs: NaN in the pattern, zeros in Attention.
 * <p>Run before {@code fuse-reductions}, which would otherwise fuse the softmax away.
 */
public final class RecognizeAttention implements Pass {
    public static final String NAME = "recognize-attention";

    public RecognizeAttention() {}

    @Override public String name() { return NAME; }

    @Override public Set<Property> establishes() { return Set.of(Property.ATTENTION_RECOGNIZED); }

    /** What one match found; {@code removed} are the pattern's nodes (positions in the index). */
    private record Match(Value q, Value kt, Value v, Value mask, boolean invertMask, double scale, Set<Integer> removed) {}

    @Override public Graph run(Graph g, PassContext ctx) {
        FusionGroups.Index ix = new FusionGroups.Index(g);
        Map<Integer, List<Node>> replacement = new HashMap<>();
        Set<Integer> removed = new HashSet<>();
        int fresh = 0;
        for (int i = 0; i < ix.nodes.size(); i++) {
            Match m = match(ix, i);
            if (m == null || m.removed().stream().anyMatch(removed::contains)) continue;
            List<Node> made = new ArrayList<>();
            Node mm = ix.node(i);
            String base = mm.output(0).name();
            String origin = String.join(",", origins(ix, m.removed()));
            Value k = keyOf(ix, m.kt(), base + ".k", origin, made);
            Value mask = m.mask();
            boolean causal = false;
            if (mask != null && isCausal(ix.constant(mask), m.invertMask())) {
                causal = true;
                mask = null;
                ctx.count("causal masks");
            } else if (mask != null && m.invertMask()) {
                Value inv = new Value(base + ".keep", mask.type());
                made.add(Node.of("Not", List.of(mask), List.of(inv), Map.of(), origin));
                mask = inv;
            }
            Map<String, Attr> attrs = new HashMap<>();
            attrs.put("scale", Attr.of(m.scale()));
            if (causal) attrs.put("is_causal", Attr.of(1));
            List<Value> in = new ArrayList<>(List.of(m.q(), k, m.v()));
            if (mask != null) in.add(mask);
            made.add(Node.of("Attention", in, List.of(mm.output(0)), attrs, origin));
            replacement.put(i, made);
            removed.addAll(m.removed());
            ctx.count("attention patterns");
            fresh++;
        }
        if (fresh == 0) return g;
        List<Node> out = new ArrayList<>();
        for (int i = 0; i < ix.nodes.size(); i++) {
            if (replacement.containsKey(i)) out.addAll(replacement.get(i));
            else if (!removed.contains(i)) out.add(ix.node(i));
        }
        return g.withNodes(out);
    }

    private static Match match(FusionGroups.Index ix, int pvAt) {
        Node pv = ix.node(pvAt);
        if (!pv.op().equals("MatMul") || !rank4(pv.input(0)) || !rank4(pv.input(1)) || !rank4(pv.output(0))) return null;
        Set<Integer> nodes = new LinkedHashSet<>(List.of(pvAt));
        // softmax: plain, or decomposed as Div(Exp(Sub(x, ReduceMax(x))), ReduceSum(...))
        int p = sole(ix, pv.input(0), pvAt);
        if (p < 0) return null;
        Node pn = ix.node(p);
        // torch's export guards the softmax: Where(IsNaN(P), 0, P) makes fully masked rows 0, as Attention does
        if (pn.op().equals("Where") && isNanGuard(ix, pn, p)) {
            nodes.add(p);
            nodes.add(ix.producer(pn.input(0)));
            p = ix.producer(pn.input(2));
            if (p < 0) return null;
            pn = ix.node(p);
        }
        Value x;
        if (pn.op().equals("Softmax")) {
            if (Shapes.axis(pn.attrInt("axis", -1), 4) != 3) return null;
            x = pn.input(0);
            if (!ix.soleUse(x, p)) return null;
            nodes.add(p);
        } else {
            if (!pn.op().equals("Div")) return null;
            int sum = sole(ix, pn.input(1), p), exp = ix.producer(pn.input(0));
            if (sum < 0 || exp < 0 || !lastAxisReduce(ix, ix.node(sum), "ReduceSum")) return null;
            Node en = ix.node(exp);
            if (!en.op().equals("Exp") || !ix.node(sum).input(0).equals(en.output(0)) || ix.users(en.output(0)).size() != 2
                    || ix.isGraphOutput(en.output(0))) return null;
            int sub = sole(ix, en.input(0), exp);
            if (sub < 0 || !ix.node(sub).op().equals("Sub")) return null;
            Node sn = ix.node(sub);
            int max = sole(ix, sn.input(1), sub);
            if (max < 0 || !lastAxisReduce(ix, ix.node(max), "ReduceMax") || !ix.node(max).input(0).equals(sn.input(0))) return null;
            x = sn.input(0);
            if (ix.users(x).size() != 2 || ix.isGraphOutput(x)) return null;
            nodes.addAll(List.of(p, sum, exp, sub, max));
        }
        // optional mask
        int xAt = ix.producer(x);
        if (xAt < 0) return null;
        Node xn = ix.node(xAt);
        Value scores = x, mask = null;
        boolean invert = false;
        int scoresAt = xAt;
        if (xn.op().equals("Add") || xn.op().equals("Where")) {
            if (xn.op().equals("Add")) {
                int side = fromScale(ix, xn.input(0)) ? 0 : fromScale(ix, xn.input(1)) ? 1 : -1;
                if (side < 0) return null;
                scores = xn.input(side);
                mask = xn.input(1 - side);
            } else {
                boolean negInf1 = allNegInf(ix.constant(xn.input(1))), negInf2 = allNegInf(ix.constant(xn.input(2)));
                if (negInf2 && fromScale(ix, xn.input(1))) scores = xn.input(1);
                else if (negInf1 && fromScale(ix, xn.input(2))) { scores = xn.input(2); invert = true; }
                else return null;
                mask = xn.input(0);
            }
            if (!maskFits(mask, x)) return null;
            if (!ix.soleUse(scores, xAt)) return null;
            nodes.add(xAt);
            scoresAt = ix.producer(scores);
        }
        // optional scale
        Node sn = ix.node(scoresAt);
        double scale = 1;
        Value qk = scores;
        if ((sn.op().equals("Mul") || sn.op().equals("Div"))) {
            Tensor c1 = ix.constant(sn.input(1)), c0 = ix.constant(sn.input(0));
            int qkSide = -1;
            if (c1 != null && c1.numel() == 1) { scale = c1.getDouble(0); qkSide = 0; }
            else if (c0 != null && c0.numel() == 1 && sn.op().equals("Mul")) { scale = c0.getDouble(0); qkSide = 1; }
            if (qkSide < 0) return null;
            if (sn.op().equals("Div")) scale = 1 / scale;
            qk = sn.input(qkSide);
            if (!ix.soleUse(qk, scoresAt) || !sn.output(0).shape().equals(qk.shape())) return null;
            nodes.add(scoresAt);
        }
        int qkAt = ix.producer(qk);
        if (qkAt < 0 || !ix.node(qkAt).op().equals("MatMul")) return null;
        // QK^T has no other user: checked at the step that reads it (scale, mask or softmax)
        Node qkn = ix.node(qkAt);
        nodes.add(qkAt);
        Value q = qkn.input(0), kt = qkn.input(1), v = pv.input(1);
        // torch's SDPA export scales both operands by sqrt(scale): MatMul(Mul(Q, c), Mul(Kt, c))
        double[] operandScale = {1};
        q = unscale(ix, q, qkAt, nodes, operandScale);
        kt = unscale(ix, kt, qkAt, nodes, operandScale);
        scale *= operandScale[0];
        if (!rank4(q) || !rank4(kt) || !shapesFit(q, kt, v)) return null;
        DType dt = q.dtype();
        if (!dt.isFloat() || kt.dtype() != dt || v.dtype() != dt) return null;
        if (mask != null && !mask.dtype().isBool() && mask.dtype() != dt) return null;
        int t = ix.producer(kt);
        if (t >= 0 && ix.node(t).op().equals("Transpose") && ix.soleUse(kt, qkAt)) nodes.add(t); // replaced by keyOf
        return new Match(q, kt, v, mask, invert, scale, nodes);
    }

    /** {@code Where(IsNaN(s), 0, s)} where s is read by nothing else and the IsNaN only by the Where. */
    private static boolean isNanGuard(FusionGroups.Index ix, Node where, int whereAt) {
        Value s = where.input(2);
        int isNan = ix.producer(where.input(0));
        Tensor zero = ix.constant(where.input(1));
        if (isNan < 0 || zero == null || zero.numel() != 1 || zero.getDouble(0) != 0 || ix.producer(s) < 0) return false;
        Node in = ix.node(isNan);
        return in.op().equals("IsNaN") && in.input(0).equals(s) && ix.soleUse(where.input(0), whereAt)
                && ix.users(s).size() == 2 && !ix.isGraphOutput(s) && where.output(0).shape().equals(s.shape());
    }

    /** {@code x} for {@code x * c} or {@code x / c} (c a scalar constant, read only by {@code user}); else {@code v}. */
    private static Value unscale(FusionGroups.Index ix, Value v, int user, Set<Integer> nodes, double[] scale) {
        int p = ix.producer(v);
        if (p < 0 || !ix.soleUse(v, user)) return v;
        Node n = ix.node(p);
        if (!n.op().equals("Mul") && !n.op().equals("Div")) return v;
        Tensor c1 = ix.constant(n.input(1)), c0 = ix.constant(n.input(0));
        int side;
        double c;
        if (c1 != null && c1.numel() == 1) { side = 0; c = c1.getDouble(0); }
        else if (c0 != null && c0.numel() == 1 && n.op().equals("Mul")) { side = 1; c = c0.getDouble(0); }
        else return v;
        if (!n.input(side).shape().equals(v.shape())) return v;
        scale[0] *= n.op().equals("Div") ? 1 / c : c;
        nodes.add(p);
        return n.input(side);
    }

    private static boolean fromScale(FusionGroups.Index ix, Value v) {
        int p = ix.producer(v);
        if (p < 0) return false;
        String op = ix.node(p).op();
        return op.equals("MatMul") || op.equals("Mul") || op.equals("Div");
    }

    /** The position of the one node reading {@code v} (that must be {@code user}), or -1. */
    private static int sole(FusionGroups.Index ix, Value v, int user) {
        int p = ix.producer(v);
        return p >= 0 && ix.soleUse(v, user) ? p : -1;
    }

    private static boolean rank4(Value v) { return !v.isNone() && v.shape().isStatic() && v.shape().rank() == 4; }

    private static boolean lastAxisReduce(FusionGroups.Index ix, Node n, String op) {
        if (!n.op().equals(op) || n.attrInt("keepdims", 1) != 1 || !n.hasInput(1)) return false;
        Tensor axes = ix.constant(n.input(1));
        return axes != null && axes.numel() == 1 && Shapes.axis(axes.getLong(0), n.input(0).shape().rank()) == n.input(0).shape().rank() - 1;
    }

    private static boolean allNegInf(Tensor t) {
        if (t == null || t.numel() == 0 || !t.dtype().isFloat()) return false;
        for (int i = 0; i < t.numel(); i++) if (t.getDouble(i) != Double.NEGATIVE_INFINITY) return false;
        return true;
    }

    /** The mask broadcasts to the scores the way Attention's attn_mask does (rank 2..4, full last axis). */
    private static boolean maskFits(Value mask, Value scores) {
        if (!mask.shape().isStatic()) return false;
        long[] m = mask.shape().sizes(), s = scores.shape().sizes();
        if (m.length < 2 || m.length > 4 || m[m.length - 1] != s[3]) return false;
        for (int a = 0; a < m.length - 1; a++) {
            long want = s[4 - m.length + a];
            if (m[a] != 1 && m[a] != want) return false;
        }
        return true;
    }

    /** Q [B,H,S,D], Kt [B,Hk,D,L], V [B,Hk,L,Dv] with Hk = H or 1. */
    private static boolean shapesFit(Value q, Value kt, Value v) {
        long[] a = q.shape().sizes(), k = kt.shape().sizes(), w = v.shape().sizes();
        return a[0] == k[0] && a[0] == w[0] && k[1] == w[1] && (k[1] == a[1] || k[1] == 1)
                && a[3] == k[2] && k[3] == w[2];
    }

    /** K from Kt: through the Transpose making Kt when it composes to the identity, else a new Transpose. */
    private static Value keyOf(FusionGroups.Index ix, Value kt, String name, String origin, List<Node> made) {
        long[] swap = {0, 1, 3, 2};
        Value src = kt;
        long[] perm = swap;
        int t = ix.producer(kt);
        if (t >= 0 && ix.node(t).op().equals("Transpose")) {
            long[] p = ix.node(t).attrInts("perm");
            if (p == null) p = new long[] {3, 2, 1, 0};
            long[] r = new long[4];
            for (int i = 0; i < 4; i++) r[i] = p[(int) swap[i]]; // Transpose(Transpose(X, p), s) = Transpose(X, p∘s)
            src = ix.node(t).input(0);
            perm = r;
        }
        if (perm[0] == 0 && perm[1] == 1 && perm[2] == 2 && perm[3] == 3) return src;
        long[] in = src.shape().sizes(), out = new long[4];
        for (int i = 0; i < 4; i++) out[i] = in[(int) perm[i]];
        Value k = new Value(name, TensorType.of(src.dtype(), out));
        made.add(Node.of("Transpose", List.of(src), List.of(k), Map.of("perm", Attr.ints(perm)), origin));
        return k;
    }

    /** A constant mask equal to the causal one: keep key j for query i iff j <= i (over every leading index). */
    private static boolean isCausal(Tensor m, boolean inverted) {
        if (m == null || m.rank() < 2) return false;
        long rows = m.dim(m.rank() - 2), cols = m.dim(m.rank() - 1);
        for (int idx = 0; idx < m.numel(); idx++) {
            long j = idx % cols, i = (idx / cols) % rows;
            boolean keep;
            if (m.dtype().isBool()) keep = m.getBool(idx) != inverted;
            else {
                double d = m.getDouble(idx);
                if (d != 0 && d != Double.NEGATIVE_INFINITY) return false;
                keep = d == 0;
            }
            if (keep != (j <= i)) return false;
        }
        return true;
    }

    private static List<String> origins(FusionGroups.Index ix, Set<Integer> nodes) {
        LinkedHashSet<String> o = new LinkedHashSet<>();
        nodes.stream().sorted().forEach(i -> {
            for (String s : ix.node(i).origin().split(",")) if (!s.isBlank()) o.add(s.strip());
        });
        return new ArrayList<>(o);
    }
}
