package dev.kiln.codegen.kernels.ew;

import dev.kiln.codegen.CTypes;
import dev.kiln.ir.DType;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.UnsupportedException;

import java.util.Set;
import java.util.TreeSet;

/**
 * One reduction of a reduce kernel: which axes it reduces, its identity and combine step in C. Max/Min keep
 * NaN (a NaN anywhere in the row gives NaN). ArgMax/ArgMin carry a (value, index) pair; ties go to the first
 * index, or the last with {@code select_last_index=1}.
 */
record Reduction(Node node, String op, Set<Integer> axes, boolean keepdims, DType type) {
    static final Set<String> OPS = Set.of("ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ArgMax", "ArgMin");

    static Reduction of(Node n, Body b) {
        long[] in = Body.sizes(n.input(0));
        Set<Integer> axes = new TreeSet<>();
        boolean keep = n.attrInt("keepdims", 1) != 0;
        if (n.op().startsWith("Arg")) {
            axes.add((int) norm(n.attrInt("axis", 0), in.length));
        } else if (n.hasInput(1)) {
            Tensor t = b.constant(n.input(1));
            // an axes input of static shape [0] is empty whether or not its (absent) values are known
            boolean empty = t == null && n.input(1).shape().isStatic() && n.input(1).shape().numel() == 0;
            if (t == null && !empty) throw n.error(new UnsupportedException("reduction axes must be a constant for GPU code"));
            if (t != null) for (long a : t.toLongs()) axes.add((int) norm(a, in.length));
        }
        // absent or empty axes: all axes, unless noop_with_empty_axes=1, which reduces none (each element alone)
        if (axes.isEmpty() && !n.op().startsWith("Arg") && n.attrInt("noop_with_empty_axes", 0) == 0)
            for (int d = 0; d < in.length; d++) axes.add(d);
        DType t = n.input(0).dtype();
        CTypes.compute(t);
        return new Reduction(n, n.op(), axes, keep, t);
    }

    private static long norm(long a, int rank) { return a < 0 ? a + rank : a; }

    boolean isArg() { return op.startsWith("Arg"); }

    String ctype() { return CTypes.compute(type); }

    String identity() {
        return switch (op) {
            case "ReduceSum" -> "(" + ctype() + ")0";
            case "ReduceProd" -> "(" + ctype() + ")1";
            case "ReduceMax", "ArgMax" -> lowest();
            default -> highest();
        };
    }

    /** Index a pair starts with: loses every tie. */
    String identityIndex() { return node.attrInt("select_last_index", 0) != 0 ? "-1LL" : "0x7fffffffffffffffLL"; }

    private String lowest() {
        return switch (type) {
            case F32, F16, BF16 -> "-__int_as_float(0x7f800000)";
            case F64 -> "-__longlong_as_double(0x7ff0000000000000LL)";
            case BOOL -> "false";
            default -> type.isUnsigned() ? "(" + ctype() + ")0" : "(" + ctype() + ")" + Index.lit(-(1L << (type.bits() - 1)));
        };
    }

    private String highest() {
        return switch (type) {
            case F32, F16, BF16 -> "__int_as_float(0x7f800000)";
            case F64 -> "__longlong_as_double(0x7ff0000000000000LL)";
            case BOOL -> "true";
            default -> type.isUnsigned() ? "(" + ctype() + ")" + Long.toUnsignedString(type.bits() == 64 ? -1L : (1L << type.bits()) - 1) + "ULL"
                    : "(" + ctype() + ")" + Index.lit(type.bits() == 64 ? Long.MAX_VALUE : (1L << (type.bits() - 1)) - 1);
        };
    }

    /** C expression combining accumulator {@code a} with value {@code b} (non-arg reductions). */
    String combine(String a, String b) {
        return switch (op) {
            case "ReduceSum" -> a + " + " + b;
            case "ReduceProd" -> a + " * " + b;
            case "ReduceMax" -> "(" + a + " != " + a + " || " + a + " >= " + b + ") ? " + a + " : " + b;
            case "ReduceMin" -> "(" + a + " != " + a + " || " + a + " <= " + b + ") ? " + a + " : " + b;
            default -> throw new IllegalStateException(op);
        };
    }

    /** C condition: pair (bv, bi) beats (av, ai). */
    String beats(String av, String ai, String bv, String bi) {
        String cmp = op.equals("ArgMax") ? ">" : "<";
        String tie = node.attrInt("select_last_index", 0) != 0 ? bi + " > " + ai : bi + " < " + ai;
        return "(" + bv + " " + cmp + " " + av + " || (" + bv + " == " + av + " && " + tie + "))";
    }
}
