package dev.kiln.ir.ops.elementwise;

import dev.kiln.ir.DType;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.op.Shapes;
import dev.kiln.ir.op.Trait;

import java.util.List;

import static dev.kiln.ir.op.Trait.COMMUTATIVE;
import static dev.kiln.ir.op.Trait.ELEMENTWISE;

/** Comparisons, boolean logic, IsNaN/IsInf and Where. Comparisons give bool; NaN compares false. */
public final class LogicOps {
    private LogicOps() {}

    private static OpDef.Builder comparison(String name, Ew.DoublePredicate2 fd, Ew.IntPredicate2 fi, String c, Trait... traits) {
        return OpDef.op(name).traits(ELEMENTWISE).traits(traits).inputs(2).outputs(1)
                .infer(ctx -> {
                    DType t = Ew.sameDType(ctx, 0, 1);
                    if (t.isString() && !name.equals("Equal")) throw ctx.error(name + " does not compare strings");
                    return List.of(new TensorType(DType.BOOL, Ew.broadcastShape(ctx, 0, 1)));
                })
                .eval(ctx -> {
                    Tensor a = ctx.input(0), b = ctx.input(1);
                    if (a.dtype().isString()) return List.of(stringEqual(ctx, a, b));
                    return List.of(Ew.compare(ctx, a, b, fd, fi));
                })
                .c(c);
    }

    private static OpDef.Builder logical(String name, java.util.function.BinaryOperator<Boolean> f, String c) {
        return OpDef.op(name).traits(ELEMENTWISE, COMMUTATIVE).inputs(2).outputs(1)
                .infer(ctx -> {
                    List<TensorType> t = Ew.broadcastAll(ctx, null);
                    if (!t.get(0).dtype().isBool()) throw ctx.error(name + " needs bool inputs, got " + t.get(0).dtype());
                    return t;
                })
                .eval(ctx -> List.of(Ew.compare(ctx, ctx.input(0), ctx.input(1), null,
                        (a, b, u) -> f.apply(a != 0, b != 0))))
                .c(c);
    }

    public static void register(OpRegistry.Builder r) {
        r.add(comparison("Equal", (a, b) -> a == b, (a, b, u) -> a == b, "$0 == $1", COMMUTATIVE));
        r.add(comparison("Less", (a, b) -> a < b, (a, b, u) -> Ew.cmp(a, b, u) < 0, "$0 < $1"));
        r.add(comparison("LessOrEqual", (a, b) -> a <= b, (a, b, u) -> Ew.cmp(a, b, u) <= 0, "$0 <= $1"));
        r.add(comparison("Greater", (a, b) -> a > b, (a, b, u) -> Ew.cmp(a, b, u) > 0, "$0 > $1"));
        r.add(comparison("GreaterOrEqual", (a, b) -> a >= b, (a, b, u) -> Ew.cmp(a, b, u) >= 0, "$0 >= $1"));
        r.add(logical("And", (a, b) -> a && b, "$0 && $1"));
        r.add(logical("Or", (a, b) -> a || b, "$0 || $1"));
        r.add(logical("Xor", (a, b) -> a ^ b, "$0 != $1"));
        r.add(OpDef.op("Not").traits(ELEMENTWISE).inputs(1).outputs(1)
                .infer(ctx -> {
                    if (!ctx.inputType(0).dtype().isBool()) throw ctx.error("Not needs a bool input, got " + ctx.inputType(0).dtype());
                    return Ew.same(ctx);
                })
                .eval(ctx -> List.of(Ew.mapLong(ctx.input(0), DType.BOOL, v -> v == 0 ? 1 : 0)))
                .c("!$0"));
        r.add(OpDef.op("IsNaN").traits(ELEMENTWISE).inputs(1).outputs(1)
                .infer(ctx -> {
                    Ew.requireFloat(ctx, ctx.inputType(0).dtype());
                    return List.of(ctx.inputType(0).withDType(DType.BOOL));
                })
                .eval(ctx -> List.of(Ew.mapDouble(ctx.input(0), DType.BOOL, v -> Double.isNaN(v) ? 1 : 0)))
                .c("isnan($0)"));
        r.add(OpDef.op("IsInf").traits(ELEMENTWISE).inputs(1).outputs(1)
                .infer(ctx -> {
                    Ew.requireFloat(ctx, ctx.inputType(0).dtype());
                    return List.of(ctx.inputType(0).withDType(DType.BOOL));
                })
                .eval(ctx -> {
                    boolean neg = ctx.node().attrInt("detect_negative", 1) != 0, pos = ctx.node().attrInt("detect_positive", 1) != 0;
                    return List.of(Ew.mapDouble(ctx.input(0), DType.BOOL,
                            v -> v == Double.POSITIVE_INFINITY && pos || v == Double.NEGATIVE_INFINITY && neg ? 1 : 0));
                })
                .c("isinf($0) && ($0 > 0.f ? ${detect_positive:1} : ${detect_negative:1})"));
        r.add(OpDef.op("Where").traits(ELEMENTWISE).inputs(3).outputs(1)
                .infer(ctx -> {
                    if (!ctx.inputType(0).dtype().isBool()) throw ctx.error("Where's condition must be bool, got " + ctx.inputType(0).dtype());
                    DType t = Ew.sameDType(ctx, 1, 2);
                    return List.of(new TensorType(t, Ew.broadcastShape(ctx, 0, 1, 2)));
                })
                .eval(ctx -> {
                    Tensor c = ctx.input(0), x = ctx.input(1), y = ctx.input(2);
                    long[] shape = Ew.broadcast(ctx, c.shape(), x.shape(), y.shape());
                    int[] ic = Shapes.broadcastIndex(c.shape(), shape), ix = Shapes.broadcastIndex(x.shape(), shape),
                            iy = Shapes.broadcastIndex(y.shape(), shape);
                    return List.of(Ew.gather(x.dtype(), shape, new Tensor[] {x, y},
                            k -> c.getBool(ic[k]) ? 0 : 1, k -> c.getBool(ic[k]) ? ix[k] : iy[k]));
                })
                .c("$0 ? $1 : $2"));
    }

    private static Tensor stringEqual(dev.kiln.ir.op.EvalContext ctx, Tensor a, Tensor b) {
        long[] shape = Ew.broadcast(ctx, a.shape(), b.shape());
        int[] ia = Shapes.broadcastIndex(a.shape(), shape), ib = Shapes.broadcastIndex(b.shape(), shape);
        boolean[] r = new boolean[ia.length];
        for (int k = 0; k < r.length; k++) r[k] = a.getString(ia[k]).equals(b.getString(ib[k]));
        return Tensor.ofBools(shape, r);
    }
}
