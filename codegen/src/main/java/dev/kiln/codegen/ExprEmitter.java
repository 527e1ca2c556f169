package dev.kiln.codegen;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Node;
import dev.kiln.ir.UnsupportedException;
import dev.kiln.ir.Value;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.OpRegistry;

import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Emits C statements for the elementwise nodes of a fused body, one local variable per value, from each
 * op's C expression ({@link OpDef#cExpr()}). Expressions are written for float compute: {@code $0, $1...}
 * are the operands, {@code $?1} is 1 when optional operand 1 is given and 0 when omitted, {@code ${name:default}} an
 * attribute with its ONNX default, and {@code ${name:default==text}} is 1 when a string attribute (or its
 * default) equals {@code text}, else 0 (so one row covers ops whose form depends on a string attribute, e.g.
 * Gelu's {@code approximate}); the C compiler folds the constant condition. For double compute the
 * float math functions and literals are widened; for integer compute the few float functions that have
 * integer twins are mapped (fmaxf -> max); other integer uses are unsupported. Cast is built in.
 * Reads the IR only.
 */
public final class ExprEmitter {
    private final CudaSource src;
    private final Map<String, String> bound = new HashMap<>();
    private int next;

    public ExprEmitter(CudaSource src) { this.src = src; }

    /** Makes {@code v} available as the C expression {@code expr} (already in v's compute type). */
    public ExprEmitter bind(Value v, String expr) {
        bound.put(v.name(), expr);
        return this;
    }

    public boolean isBound(Value v) { return bound.containsKey(v.name()); }

    public String value(Value v) {
        String e = bound.get(v.name());
        if (e == null) throw new IllegalStateException("value %" + v.name() + " is not available in this kernel");
        return e;
    }

    /**
     * Declares a local holding node {@code n}'s result and binds its output to it; returns the local. An
     * Identity (which keeps a graph output's name) declares nothing: its output is its input's expression, so
     * a layer whose result is also a graph output compiles to the same kernel as the layers before it.
     */
    public String emit(Node n) {
        Value out = n.output(0);
        if (n.op().equals("Identity") && n.inputs().size() == 1 && !n.input(0).isNone() && n.input(0).dtype() == out.dtype()) {
            String e = value(n.input(0));
            bind(out, e);
            return e;
        }
        String var = "t" + next++;
        src.line(CTypes.compute(out.dtype()) + " " + var + " = " + expression(n) + ";");
        bind(out, var);
        return var;
    }

    /** The C expression for node {@code n} over its bound inputs, in its output's compute type. */
    public String expression(Node n) {
        DType out = n.output(0).dtype();
        if (n.op().equals("Cast")) {
            DType from = n.input(0).dtype();
            String x = value(n.input(0));
            if (out == DType.BOOL) return "(" + x + " != 0)";
            if (from.isFloat() && out.isInteger()) return "(" + CTypes.compute(out) + ")(" + x + ")";
            return "(" + CTypes.compute(out) + ")(" + x + ")";
        }
        if (n.op().equals("Pow") && n.input(0).dtype().isInteger()) {
            // ONNX Pow keeps the base's type: exact repeated squaring for integer exponents, double pow for float ones
            String x = "(" + CTypes.compute(out) + ")(" + value(n.input(0)) + ")", y = value(n.input(1));
            DType e = n.input(1).dtype();
            if (e.isInteger()) return "kiln_ipow(" + x + ", (" + CTypes.compute(e) + ")(" + y + "))";
            return "(" + CTypes.compute(out) + ")(pow((double)" + x + ", (double)(" + y + ")))";
        }
        OpDef def = OpRegistry.standard().get(n.op());
        String c = def.cExpr();
        if (c == null) throw n.error(new UnsupportedException("op " + n.op() + " has no C expression for GPU code"));
        // operands are computed in the type the op works in: its first float/int input, or the output's
        DType work = n.inputs().isEmpty() || n.input(0).isNone() ? out : operandType(n);
        String expr = substituteAttrs(c, n);
        expr = adapt(expr, work, n);
        // optional operands past the node's inputs are omitted: their guard is 0 and their value a dummy 0
        for (int i = 9; i >= n.inputs().size(); i--)
            if (expr.contains("$?" + i)) expr = expr.replace("$?" + i, "0").replace("$" + i, "0");
        for (int i = n.inputs().size() - 1; i >= 0; i--) expr = expr.replace("$?" + i, n.hasInput(i) ? "1" : "0");
        for (int i = n.inputs().size() - 1; i >= 0; i--) {
            Value in = n.input(i);
            String operand = in.isNone() ? "0" : value(in);
            if (!in.isNone() && !CTypes.compute(in.dtype()).equals(CTypes.compute(work)) && in.dtype() != DType.BOOL)
                operand = "(" + CTypes.compute(work) + ")(" + operand + ")";
            expr = expr.replace("$" + i, "(" + operand + ")");
        }
        if (OPERAND.matcher(expr).find())
            throw n.error(new UnsupportedException("op " + n.op() + " with " + n.inputs().size() + " inputs has no GPU code path"));
        if (!CTypes.compute(out).equals(CTypes.compute(work)) && out != DType.BOOL) expr = "(" + CTypes.compute(out) + ")(" + expr + ")";
        return expr;
    }

    private static DType operandType(Node n) {
        // Where's operands are (cond, x, y): its work type is x's
        Value v = n.op().equals("Where") ? n.input(1) : n.input(0);
        return v.dtype();
    }

    private static final Pattern ATTR = Pattern.compile("\\$\\{([A-Za-z_]+):([^}]*)}");
    private static final Pattern OPERAND = Pattern.compile("\\$\\d");

    private static String substituteAttrs(String c, Node n) {
        Matcher m = ATTR.matcher(c);
        StringBuilder b = new StringBuilder();
        while (m.find()) {
            Attr a = n.attrs().get(m.group(1));
            int eq = m.group(2).indexOf("==");
            String lit = eq >= 0 ? (n.attrString(m.group(1), m.group(2).substring(0, eq)).equals(m.group(2).substring(eq + 2)) ? "1" : "0")
                    : switch (a) {
                case null -> m.group(2);
                case Attr.Float f -> floatLiteral(f.value());
                case Attr.Int i -> Long.toString(i.value());
                default -> throw n.error(new UnsupportedException("attribute " + m.group(1) + " cannot be used in GPU code"));
            };
            m.appendReplacement(b, Matcher.quoteReplacement(lit));
        }
        m.appendTail(b);
        return b.toString();
    }

    /** A C float literal that reads back as exactly {@code v} (as float). */
    public static String floatLiteral(double v) {
        float f = (float) v;
        // NVRTC has no __builtin_huge_valf; constant arrays with these use bit patterns (see Literals.array)
        if (Float.isNaN(f)) return "__int_as_float(0x7fc00000)";
        if (Float.isInfinite(f)) return f > 0 ? "__int_as_float(0x7f800000)" : "__int_as_float(0xff800000)";
        String s = Float.toString(f);
        if (s.contains("E")) s = s.replace("E", "e");
        return s + "f";
    }

    private static final Pattern FLOAT_FN = Pattern.compile("\\b(fmax|fmin|fabs|exp|log|log1p|sqrt|tanh|erf|pow|fmod|sin|cos|tan|asin|acos|atan|sinh|cosh|floor|ceil|rint|expm1)f\\(");
    private static final Pattern FLOAT_LIT = Pattern.compile("(\\d+\\.\\d*|\\d*\\.\\d+)(e[-+]?\\d+)?f\\b");

    /** Rewrites a float-compute expression for the work type. */
    private static String adapt(String expr, DType work, Node n) {
        if (work == DType.F32 || work == DType.F16 || work == DType.BF16 || work == DType.BOOL) return expr;
        if (work == DType.F64) {
            String e = FLOAT_FN.matcher(expr).replaceAll("$1(");
            return FLOAT_LIT.matcher(e).replaceAll("$1$2");
        }
        if (work.isInteger()) {
            String e = expr.replace("fmaxf(", "max(").replace("fminf(", "min(").replace("powf(", "kiln_ipow(");
            if (e.contains("fabsf(")) e = e.replace("fabsf(", work.isUnsigned() ? "(" : "abs(");
            e = FLOAT_LIT.matcher(e).replaceAll(m -> m.group(1).replaceAll("\\.\\d*$", "").replaceAll("^\\.", "0"));
            if (FLOAT_FN.matcher(e).find())
                throw n.error(new UnsupportedException("op " + n.op() + " on " + work + " has no GPU code path yet"));
            return e;
        }
        return expr;
    }
}
