package dev.kiln.ir.ops.elementwise;

import dev.kiln.ir.DType;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.op.Shapes;
import dev.kiln.ir.op.Trait;

import java.util.List;
import java.util.function.DoubleBinaryOperator;

import static dev.kiln.ir.op.Trait.COMMUTATIVE;
import static dev.kiln.ir.op.Trait.ELEMENTWISE;

/** Broadcasting arithmetic: the binary ops, the variadic folds, Pow, Mod, Clip, PRelu and BitShift. */
public final class ArithmeticOps {
    private ArithmeticOps() {}

    /** One broadcasting binary op of a single dtype T: double semantics for floats, exact long semantics for ints. */
    private static OpDef.Builder binary(String name, DoubleBinaryOperator fd, Ew.IntBinary fi, String c, Trait... traits) {
        return OpDef.op(name).traits(ELEMENTWISE).traits(traits).inputs(2).outputs(1)
                .infer(ctx -> {
                    List<TensorType> t = Ew.broadcastAll(ctx, null);
                    Ew.requireNumeric(ctx, t.get(0).dtype());
                    return t;
                })
                .eval(ctx -> List.of(Ew.binary(ctx, ctx.input(0), ctx.input(1), ctx.input(0).dtype(), fd, fi)))
                .c(c);
    }

    /** A variadic broadcasting fold over inputs of one dtype. */
    private static OpDef.Builder variadic(String name, DoubleBinaryOperator fd, Ew.IntBinary fi, boolean mean, String c) {
        return OpDef.op(name).traits(ELEMENTWISE, COMMUTATIVE).inputs(1, OpDef.VARIADIC).outputs(1)
                .infer(ctx -> {
                    List<TensorType> t = Ew.broadcastAll(ctx, null);
                    if (mean) Ew.requireFloat(ctx, t.get(0).dtype());
                    else Ew.requireNumeric(ctx, t.get(0).dtype());
                    return t;
                })
                .eval(ctx -> List.of(Ew.fold(ctx, fd, fi, mean)))
                .c(c);
    }

    public static void register(OpRegistry.Builder r) {
        r.add(binary("Add", Double::sum, (a, b, u) -> a + b, "$0 + $1", COMMUTATIVE));  // wraps like C
        r.add(binary("Sub", (a, b) -> a - b, (a, b, u) -> a - b, "$0 - $1"));
        r.add(binary("Mul", (a, b) -> a * b, (a, b, u) -> a * b, "$0 * $1", COMMUTATIVE));
        // integer division truncates toward zero (ONNX test_div_int32_trunc); by zero is an error
        r.add(binary("Div", (a, b) -> a / b, (a, b, u) -> u ? Long.divideUnsigned(a, b) : a / b, "$0 / $1"));
        // numpy maximum/minimum: NaN wins
        r.add(variadic("Max", ArithmeticOps::maxNaN, (a, b, u) -> Ew.cmp(a, b, u) >= 0 ? a : b, false, "fmaxf($0, $1)"));
        r.add(variadic("Min", ArithmeticOps::minNaN, (a, b, u) -> Ew.cmp(a, b, u) <= 0 ? a : b, false, "fminf($0, $1)"));
        r.add(variadic("Sum", Double::sum, (a, b, u) -> a + b, false, "$0 + $1"));
        r.add(variadic("Mean", Double::sum, null, true, "($0 + $1) * 0.5f"));   // two inputs; more are chained by canonicalize
        r.add(pow());
        r.add(mod());
        r.add(clip());
        r.add(OpDef.op("PRelu").traits(ELEMENTWISE).inputs(2).outputs(1)
                .infer(ctx -> {
                    // the slope broadcasts to X (unidirectionally); the output has X's shape
                    DType t = Ew.sameDType(ctx, 0, 1);
                    Ew.requireNumeric(ctx, t);
                    if (!ctx.inputType(0).shape().equals(Ew.broadcastShape(ctx, 0, 1)) && ctx.inputType(0).shape().isStatic()
                            && Ew.broadcastShape(ctx, 0, 1).isStatic())
                        throw ctx.error("slope " + ctx.inputType(1).shape() + " does not broadcast to X " + ctx.inputType(0).shape());
                    return List.of(ctx.inputType(0));
                })
                .eval(ctx -> List.of(Ew.binary(ctx, ctx.input(0), ctx.input(1), ctx.input(0).dtype(),
                        (x, s) -> x < 0 ? s * x : x, (x, s, u) -> !u && x < 0 ? s * x : x)))
                .c("$0 < 0.f ? $1 * $0 : $0"));
        r.add(OpDef.op("BitShift").traits(ELEMENTWISE).inputs(2).outputs(1)
                .check(n -> {
                    String d = n.attrString("direction", null);
                    if (d == null) throw n.missing("direction");
                    if (!d.equals("LEFT") && !d.equals("RIGHT"))
                        throw n.error(new InvalidModelException("direction must be LEFT or RIGHT, got '" + d + "'"));
                })
                .infer(ctx -> {
                    List<TensorType> t = Ew.broadcastAll(ctx, null);
                    if (!t.get(0).dtype().isUnsigned()) throw ctx.error("BitShift needs an unsigned integer input, got " + t.get(0).dtype());
                    return t;
                })
                .eval(ctx -> {
                    boolean left = ctx.node().attrString("direction", "").equals("LEFT");
                    int bits = ctx.input(0).dtype().bits();
                    // a shift by the width or more empties the value (C would leave it undefined)
                    return List.of(Ew.binary(ctx, ctx.input(0), ctx.input(1), ctx.input(0).dtype(), null,
                            (a, s, u) -> Long.compareUnsigned(s, bits) >= 0 ? 0 : left ? a << s : a >>> s));
                })
                .c("$1 >= 8 * sizeof($0) ? 0 : ${direction:LEFT==LEFT} ? $0 << $1 : $0 >> $1"));
    }

    private static double maxNaN(double a, double b) { return Double.isNaN(a) || Double.isNaN(b) ? Double.NaN : Math.max(a, b); }
    private static double minNaN(double a, double b) { return Double.isNaN(a) || Double.isNaN(b) ? Double.NaN : Math.min(a, b); }

    /** Pow(X, Y): the output has X's dtype; Y may be any numeric type. Integer powers are exact. */
    private static OpDef.Builder pow() {
        return OpDef.op("Pow").traits(ELEMENTWISE).inputs(2).outputs(1)
                .infer(ctx -> {
                    Ew.requireNumeric(ctx, ctx.inputType(0).dtype());
                    Ew.requireNumeric(ctx, ctx.inputType(1).dtype());
                    return List.of(new TensorType(ctx.inputType(0).dtype(), Ew.broadcastShape(ctx, 0, 1)));
                })
                .eval(ctx -> {
                    Tensor x = ctx.input(0), y = ctx.input(1);
                    DType t = x.dtype();
                    long[] shape = Ew.broadcast(ctx, x.shape(), y.shape());
                    int[] ix = Shapes.broadcastIndex(x.shape(), shape), iy = Shapes.broadcastIndex(y.shape(), shape);
                    if (t.isInteger() && y.dtype().isInteger()) {
                        long[] r = new long[ix.length];
                        for (int k = 0; k < r.length; k++) r[k] = ipow(x.getLong(ix[k]), y.getLong(iy[k]), y.dtype() == DType.U64);
                        return List.of(Tensor.ofLongs(t, shape, r));
                    }
                    double[] r = new double[ix.length];
                    for (int k = 0; k < r.length; k++) r[k] = Math.pow(x.getDouble(ix[k]), y.getDouble(iy[k]));
                    return List.of(Tensor.ofDoubles(t, shape, r));
                })
                .c("powf($0, $1)");
    }

    /** Exact integer power with wrap-around; negative exponents give the truncated reciprocal. */
    static long ipow(long base, long exp, boolean unsignedExp) {
        if (!unsignedExp && exp < 0) return base == 1 ? 1 : base == -1 ? ((exp & 1) == 0 ? 1 : -1) : base == 0 ? 0 : 0;
        long r = 1, b = base, e = exp;
        while (e != 0) {
            if ((e & 1) != 0) r *= b;
            b *= b;
            e >>>= 1;
        }
        return r;
    }

    /** Mod: fmod=0 (integers only) gives the sign of the divisor like Python; fmod=1 the sign of the dividend like C. */
    private static OpDef.Builder mod() {
        return OpDef.op("Mod").traits(ELEMENTWISE).inputs(2).outputs(1)
                .check(n -> {
                    long f = n.attrInt("fmod", 0);
                    if (f != 0 && f != 1) throw n.error(new InvalidModelException("fmod must be 0 or 1, got " + f));
                })
                .infer(ctx -> {
                    List<TensorType> t = Ew.broadcastAll(ctx, null);
                    Ew.requireNumeric(ctx, t.get(0).dtype());
                    if (t.get(0).dtype().isFloat() && ctx.node().attrInt("fmod", 0) == 0)
                        throw ctx.error("Mod of floating-point inputs needs fmod=1");
                    return t;
                })
                .eval(ctx -> {
                    boolean fmod = ctx.node().attrInt("fmod", 0) == 1;
                    return List.of(Ew.binary(ctx, ctx.input(0), ctx.input(1), ctx.input(0).dtype(), (a, b) -> a % b,
                            (a, b, u) -> {
                                if (u) return Long.remainderUnsigned(a, b);
                                long m = a % b;
                                return !fmod && m != 0 && (m < 0) != (b < 0) ? m + b : m;
                            }));
                })
                .c("${fmod:0} ? kiln_fmod($0, $1) : kiln_mod($0, $1)");   // helpers in CTypes.PRELUDE
    }

    /** Clip(x, min?, max?): min then max, so min > max gives max everywhere (as ONNX specifies). NaN stays NaN. */
    private static OpDef.Builder clip() {
        return OpDef.op("Clip").traits(ELEMENTWISE).inputs(1, 3).outputs(1)
                .infer(ctx -> {
                    DType t = Ew.sameDType(ctx, 0, 1, 2);
                    Ew.requireNumeric(ctx, t);
                    for (int i = 1; i <= 2; i++)
                        if (ctx.hasInput(i) && ctx.inputType(i).shape().ranked() && ctx.inputType(i).shape().isStatic()
                                && ctx.inputType(i).shape().numel() != 1)
                            throw ctx.error("Clip's " + (i == 1 ? "min" : "max") + " must be a scalar, has shape " + ctx.inputType(i).shape());
                    return List.of(ctx.inputType(0));
                })
                .eval(ctx -> {
                    Tensor x = ctx.input(0), lo = ctx.input(1), hi = ctx.input(2);
                    for (Tensor b : new Tensor[] {lo, hi})
                        if (b != null && b.numel() != 1) throw ctx.error("Clip bounds must be scalars, got " + b.type());
                    if (x.dtype().isFloat()) {
                        double l = lo == null ? Double.NEGATIVE_INFINITY : lo.getDouble(0);
                        double h = hi == null ? Double.POSITIVE_INFINITY : hi.getDouble(0);
                        return List.of(Ew.mapDouble(x, x.dtype(), v -> {
                            double w = v < l ? l : v;
                            return w > h ? h : w;
                        }));
                    }
                    boolean u64 = x.dtype() == DType.U64;
                    Long l = lo == null ? null : lo.getLong(0), h = hi == null ? null : hi.getLong(0);
                    return List.of(Ew.mapLong(x, x.dtype(), v -> {
                        long w = l != null && Ew.cmp(v, l, u64) < 0 ? l : v;
                        return h != null && Ew.cmp(w, h, u64) > 0 ? h : w;
                    }));
                })
                // comparisons, not fmaxf/fminf, so NaN stays NaN; an omitted bound ($?i == 0) is no bound
                .c("($?2 && (($?1 && $0 < $1) ? $1 : $0) > $2) ? $2 : (($?1 && $0 < $1) ? $1 : $0)");
    }
}
