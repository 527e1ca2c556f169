package dev.kiln.passes;

import dev.kiln.ir.Attr;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.Value;

import java.util.List;
import java.util.Map;

/**
 * simplify: local algebraic rewrites, as a table of named rules with the algebra beside each. A rule sees
 * the node with its operands already rewritten (so chains collapse in one walk) and the producers of those
 * operands; it returns the value that replaces the node or null. The walk repeats until no rule fires.
 * Dropped nodes are left for {@code dce}; graph outputs keep their names.
 */
public final class Simplify implements Pass {
    public static final String NAME = "simplify";
    private static final int MAX_ROUNDS = 8;

    @FunctionalInterface
    interface Match { Value apply(Node n, Node old, Emitter e); }

    record Rule(String name, String op, Match match) {}

    static final List<Rule> RULES = List.of(
            new Rule("mul-one", "Mul", (n, o, e) -> either(n, o, e, 1)),                   // x*1 -> x, 1*x -> x
            new Rule("add-zero", "Add", (n, o, e) -> either(n, o, e, 0)),                  // x+0 -> x, 0+x -> x
            new Rule("sub-zero", "Sub", (n, o, e) -> right(n, o, e, 0)),                   // x-0 -> x
            new Rule("div-one", "Div", (n, o, e) -> right(n, o, e, 1)),                    // x/1 -> x
            new Rule("pow-one", "Pow", (n, o, e) -> right(n, o, e, 1)),                    // x^1 -> x
            new Rule("neg-neg", "Neg", (n, o, e) -> inner(n, e, "Neg")),                   // --x -> x
            new Rule("identity", "Identity", (n, o, e) -> n.input(0)),                     // Identity(x) -> x
            new Rule("cast-noop", "Cast", (n, o, e) -> n.input(0).dtype() == o.output(0).dtype() ? n.input(0) : null), // Cast<T>(x:T) -> x
            new Rule("expand-noop", "Expand", (n, o, e) -> sameType(n, o)),                // Expand(x, shape(x)) -> x
            new Rule("reshape-noop", "Reshape", (n, o, e) -> sameType(n, o)),              // Reshape(x, shape(x)) -> x
            new Rule("gather-iota", "Gather", Simplify::gatherIota),                       // Gather(x, [0..n-1] as shape s) -> Reshape(x)
            new Rule("concat-one", "Concat", (n, o, e) -> n.inputs().size() == 1 ? sameType(n, o) : null), // Concat(x) -> x
            new Rule("reshape-reshape", "Reshape", Simplify::reshapeReshape),              // Reshape(Reshape(x)) -> Reshape(x)
            new Rule("matmul-flatten", "MatMul", Simplify::matmulFlatten),                // MatMul(Reshape(x, [M,K]), W) -> Reshape(MatMul(x, W), [M,N])
            new Rule("bias-reshape", "Add", Simplify::biasReshape),                        // Reshape(y, s) + b[N] -> Reshape(y + b, s)
            new Rule("transpose-identity", "Transpose", (n, o, e) -> isIdentity(perm(n, o)) ? n.input(0) : null), // T_id(x) -> x
            new Rule("transpose-transpose", "Transpose", Simplify::transposeTranspose));   // T_q(T_p(x)) -> T_{p∘q}(x)

    @Override public String name() { return NAME; }

    @Override public Graph run(Graph g, PassContext ctx) {
        for (int round = 0; round < MAX_ROUNDS; round++) {
            PassContext r = new PassContext();
            Graph out = once(g, r);
            r.counters().forEach(ctx::count);
            if (r.counters().isEmpty()) return g;
            g = out;
        }
        return g;
    }

    private static Graph once(Graph g, PassContext ctx) {
        Emitter e = new Emitter(g);
        for (Node old : g.nodes()) {
            Node n = old.withInputs(old.inputs().collect(e::get).castToList());
            Value r = null;
            for (Rule rule : RULES) {
                if (!rule.op().equals(old.op()) || old.outputs().size() != 1) continue;
                if (rule.name().equals("identity") && e.isGraphOutput(old.output(0))) continue; // it names an output
                r = rule.match().apply(n, old, e);
                if (r != null) { ctx.count(rule.name()); break; }
            }
            if (r == null) e.copy(old);
            else e.bind(old, 0, r);
        }
        return e.finish();
    }

    // ---- matchers ----

    /** True when {@code v} is a constant whose every element equals {@code k}. */
    private static boolean isSplat(Emitter e, Value v, double k) {
        Tensor t = e.constant(v);
        if (t == null || !(t.dtype().isFloat() || t.dtype().isInteger())) return false;
        for (int i = 0; i < t.numel(); i++) if (t.getDouble(i) != k) return false;
        return true;
    }

    /** x op k -> x, when broadcasting against k changes neither x's shape nor dtype (provably: static or k scalar). */
    private static Value right(Node n, Node old, Emitter e, double k) {
        Value x = n.input(0);
        return isSplat(e, n.input(1), k) && keepsType(x, n.input(1), old) ? x : null;
    }

    private static boolean keepsType(Value x, Value k, Node old) {
        return x.type().equals(old.output(0).type()) && (x.shape().isStatic() || k.shape().isStatic() && k.shape().numel() == 1);
    }

    private static Value either(Node n, Node old, Emitter e, double k) {
        Value r = right(n, old, e, k);
        if (r != null) return r;
        Value x = n.input(1);
        return isSplat(e, n.input(0), k) && keepsType(x, n.input(0), old) ? x : null;
    }

    /** f(f(x)) -> x */
    private static Value inner(Node n, Emitter e, String op) {
        Node p = e.producer(n.input(0));
        return p != null && p.op().equals(op) ? p.input(0) : null;
    }

    private static Value sameType(Node n, Node old) {
        Value x = n.input(0);
        return x.type().equals(old.output(0).type()) && x.shape().isStatic() ? x : null;
    }

    private static Value reshapeReshape(Node n, Node old, Emitter e) {
        Node p = e.producer(n.input(0));
        if (p == null || !p.op().equals("Reshape") || !old.output(0).shape().isStatic()) return null;
        return e.op("Reshape", Map.of(), old.origin(), p.input(0), e.longs(old.output(0).shape().sizes()));
    }

    /**
     * A Gemm exported over flattened rows ({@code x.view(-1, K) @ W}, GPT-2's Conv1D) computes the same rows as the
     * batched MatMul of x itself; the Reshape moves after it, where it meets the one that restores the rows.
     */
    private static Value matmulFlatten(Node n, Node old, Emitter e) {
        Node p = e.producer(n.input(0));
        if (p == null || !p.op().equals("Reshape") || n.input(1).shape().rank() != 2 || !old.output(0).shape().isStatic()) return null;
        Value x = p.input(0);
        long[] xs = x.shape().isStatic() ? x.shape().sizes() : null, flat = n.input(0).shape().sizes();
        if (xs == null || xs.length < 3 || flat.length != 2 || xs[xs.length - 1] != flat[1]) return null;
        Value m = e.op("MatMul", Map.of(), old.origin(), x, n.input(1));
        return e.op("Reshape", Map.of(), old.origin(), m, e.longs(old.output(0).shape().sizes()));
    }

    /** Gathering every index of an axis in order (a constant 0..n-1 of any shape) only splits that axis: a Reshape. */
    private static Value gatherIota(Node n, Node old, Emitter e) {
        Tensor idx = e.constant(n.input(1));
        Value x = n.input(0);
        if (idx == null || !x.shape().isStatic() || !old.output(0).shape().isStatic() || !idx.dtype().isInteger()) return null;
        int rank = x.shape().rank();
        long axis = n.attrInt("axis", 0), size = x.shape().sizes()[(int) (axis < 0 ? axis + rank : axis)];
        if (idx.numel() != size) return null;
        for (int i = 0; i < size; i++) {
            long v = idx.getLong(i);
            if ((v < 0 ? v + size : v) != i) return null;
        }
        return e.op("Reshape", Map.of(), old.origin(), x, e.longs(old.output(0).shape().sizes()));
    }

    /** Adding a bias along the last axis commutes with a Reshape that keeps the last axis. */
    private static Value biasReshape(Node n, Node old, Emitter e) {
        for (int side = 0; side < 2; side++) {
            Node p = e.producer(n.input(side));
            Value bias = n.input(1 - side);
            Tensor b = e.constant(bias);
            if (p == null || !p.op().equals("Reshape") || b == null || !old.output(0).shape().isStatic() || !p.input(0).shape().isStatic()) continue;
            long[] y = p.input(0).shape().sizes(), out = old.output(0).shape().sizes(), bs = b.shape();
            if (!java.util.Arrays.equals(out, n.input(side).shape().sizes()) || y.length == 0 || bs.length == 0 || bs.length > y.length
                    || y[y.length - 1] != out[out.length - 1] || bs[bs.length - 1] != out[out.length - 1] || b.numel() != bs[bs.length - 1]) continue;
            Value sum = side == 0 ? e.op("Add", Map.of(), old.origin(), p.input(0), bias) : e.op("Add", Map.of(), old.origin(), bias, p.input(0));
            return e.op("Reshape", Map.of(), old.origin(), sum, e.longs(out));
        }
        return null;
    }

    private static long[] perm(Node n, Node old) {
        long[] p = n.attrInts("perm");
        if (p != null) return p;
        int r = n.input(0).shape().rank();
        p = new long[r];
        for (int i = 0; i < r; i++) p[i] = r - 1 - i;
        return p;
    }

    private static boolean isIdentity(long[] p) {
        for (int i = 0; i < p.length; i++) if (p[i] != i) return false;
        return true;
    }

    private static Value transposeTranspose(Node n, Node old, Emitter e) {
        Node p = e.producer(n.input(0));
        if (p == null || !p.op().equals("Transpose") || !p.input(0).shape().ranked()) return null;
        long[] outer = perm(n, old), in = perm(p, p), composed = new long[outer.length];
        for (int i = 0; i < outer.length; i++) composed[i] = in[(int) outer[i]]; // y.dim i = x.dim in[outer[i]]
        if (isIdentity(composed)) return p.input(0);
        return e.op("Transpose", Map.of("perm", Attr.ints(composed)), old.origin(), p.input(0));
    }

}
