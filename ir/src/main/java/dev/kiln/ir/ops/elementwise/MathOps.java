package dev.kiln.ir.ops.elementwise;

import dev.kiln.ir.DType;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.OpRegistry;

import java.util.List;
import java.util.function.DoubleUnaryOperator;
import java.util.function.Function;
import java.util.function.LongUnaryOperator;

import static dev.kiln.ir.op.Trait.ELEMENTWISE;

/**
 * Unary math and activations, one table row each: the double function (floats are computed in double and
 * rounded once), an exact integer function where ONNX allows integer inputs, and the float32 C expression.
 * Ops with attributes bind them from the node first; their C expressions read them as {@code ${name:default}}.
 */
public final class MathOps {
    private MathOps() {}

    private record Row(String name, Function<Node, DoubleUnaryOperator> fd, LongUnaryOperator fi, String c) {}

    private static Row f(String name, DoubleUnaryOperator fd, String c) { return new Row(name, n -> fd, null, c); }
    private static Row fi(String name, DoubleUnaryOperator fd, LongUnaryOperator fi, String c) { return new Row(name, n -> fd, fi, c); }
    private static Row attrs(String name, String c, Function<Node, DoubleUnaryOperator> fd) { return new Row(name, fd, null, c); }
    private static Row attrsInt(String name, String c, Function<Node, DoubleUnaryOperator> fd) { return new Row(name, fd, x -> x, c); }

    private static final double SELU_ALPHA = 1.67326319217681884765625, SELU_GAMMA = 1.05070102214813232421875;

    private static final List<Row> ROWS = List.of(
            fi("Neg", x -> -x, x -> -x, "-$0"),
            fi("Abs", Math::abs, Math::abs, "fabsf($0)"),
            fi("Sign", Math::signum, Long::signum, "$0 != $0 ? $0 : ($0 > 0.f) - ($0 < 0.f)"),   // signum keeps NaN
            fi("Relu", x -> x < 0 ? 0 : x, x -> Math.max(x, 0), "$0 < 0.f ? 0.f : $0"),        // NaN stays NaN
            f("Reciprocal", x -> 1 / x, "1.f / $0"),
            f("Sqrt", Math::sqrt, "sqrtf($0)"),
            f("Exp", Math::exp, "expf($0)"),
            f("Log", Math::log, "logf($0)"),
            f("Tanh", Math::tanh, "tanhf($0)"),
            f("Sigmoid", MathOps::sigmoid, "1.f / (1.f + expf(-$0))"),
            f("Erf", Erf::erf, "erff($0)"),
            f("Softplus", MathOps::softplus, "log1pf(expf(-fabsf($0))) + fmaxf($0, 0.f)"),
            f("Softsign", x -> x / (1 + Math.abs(x)), "$0 / (1.f + fabsf($0))"),
            f("HardSwish", x -> x * Math.max(0, Math.min(1, x / 6 + 0.5)), "$0 * fmaxf(0.f, fminf(1.f, $0 / 6.f + 0.5f))"),
            f("Sin", Math::sin, "sinf($0)"),
            f("Cos", Math::cos, "cosf($0)"),
            f("Tan", Math::tan, "tanf($0)"),
            f("Asin", Math::asin, "asinf($0)"),
            f("Acos", Math::acos, "acosf($0)"),
            f("Atan", Math::atan, "atanf($0)"),
            f("Sinh", Math::sinh, "sinhf($0)"),
            f("Cosh", Math::cosh, "coshf($0)"),
            f("Floor", Math::floor, "floorf($0)"),
            f("Ceil", Math::ceil, "ceilf($0)"),
            f("Round", Math::rint, "rintf($0)"),                                 // half to even
            attrs("LeakyRelu", "$0 < 0.f ? ${alpha:0.01f} * $0 : $0", n -> {
                double a = n.attrFloat("alpha", 0.01f);
                return x -> x < 0 ? a * x : x;
            }),
            attrs("Elu", "$0 < 0.f ? ${alpha:1.0f} * expm1f($0) : $0", n -> {
                double a = n.attrFloat("alpha", 1.0);
                return x -> x < 0 ? a * Math.expm1(x) : x;
            }),
            attrs("Selu", "$0 > 0.f ? ${gamma:1.0507010221481323f} * $0 : ${gamma:1.0507010221481323f} * ${alpha:1.6732631921768188f} * expm1f($0)", n -> {
                double a = n.attrFloat("alpha", SELU_ALPHA), g = n.attrFloat("gamma", SELU_GAMMA);
                return x -> x > 0 ? g * x : g * a * Math.expm1(x);
            }),
            attrs("Celu", "fmaxf(0.f, $0) + fminf(0.f, ${alpha:1.0f} * expm1f($0 / ${alpha:1.0f}))", n -> {
                double a = n.attrFloat("alpha", 1.0);
                return x -> Math.max(0, x) + Math.min(0, a * Math.expm1(x / a));
            }),
            attrs("HardSigmoid", "fmaxf(0.f, fminf(1.f, ${alpha:0.2f} * $0 + ${beta:0.5f}))", n -> {
                double a = n.attrFloat("alpha", 0.2f), b = n.attrFloat("beta", 0.5);
                return x -> Math.max(0, Math.min(1, a * x + b));
            }),
            attrs("Gelu", "${approximate:none==tanh} ? 0.5f * $0 * (1.f + tanhf(0.7978845608028654f * ($0 + 0.044715f * $0 * $0 * $0)))"
                    + " : 0.5f * $0 * (1.f + erff($0 * 0.7071067811865476f))", n -> n.attrString("approximate", "none").equals("tanh")
                    ? x -> 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)))
                    : x -> 0.5 * x * (1 + Erf.erf(x / Math.sqrt(2)))),
            // Shrink takes integers too; its results are whole numbers there, so double is exact
            attrsInt("Shrink", "$0 < -${lambd:0.5f} ? $0 + ${bias:0.0f} : $0 > ${lambd:0.5f} ? $0 - ${bias:0.0f} : 0.f", n -> {
                double l = n.attrFloat("lambd", 0.5), b = n.attrFloat("bias", 0.0);
                return x -> x < -l ? x + b : x > l ? x - b : 0;
            }));

    static double sigmoid(double x) { return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)); }

    static double softplus(double x) { return Math.log1p(Math.exp(-Math.abs(x))) + Math.max(x, 0); }

    public static void register(OpRegistry.Builder r) {
        for (Row row : ROWS) {
            r.add(OpDef.op(row.name).traits(ELEMENTWISE).inputs(1).outputs(1)
                    .check(n -> checkAttrs(n))
                    .infer(ctx -> {
                        DType t = ctx.inputType(0).dtype();
                        if (row.fi == null) Ew.requireFloat(ctx, t);
                        else Ew.requireNumeric(ctx, t);
                        return Ew.same(ctx);
                    })
                    .eval(ctx -> {
                        Tensor x = ctx.input(0);
                        if (x.dtype().isFloat()) return List.of(Ew.mapDouble(x, x.dtype(), row.fd.apply(ctx.node())));
                        if (row.name.equals("Shrink")) return List.of(Ew.mapDouble(x, x.dtype(), row.fd.apply(ctx.node())));
                        if (x.dtype() == DType.U64 || x.dtype().isUnsigned()) {
                            // unsigned values are never negative: Abs/Relu are identities, Neg wraps
                            LongUnaryOperator u = switch (row.name) {
                                case "Abs", "Relu" -> v -> v;
                                case "Sign" -> v -> v == 0 ? 0 : 1;
                                default -> row.fi;
                            };
                            return List.of(Ew.mapLong(x, x.dtype(), u));
                        }
                        return List.of(Ew.mapLong(x, x.dtype(), row.fi));
                    })
                    .c(row.c));
        }
    }

    private static void checkAttrs(Node n) {
        if (n.op().equals("Gelu")) {
            String a = n.attrString("approximate", "none");
            if (!a.equals("none") && !a.equals("tanh"))
                throw n.error(new InvalidModelException("Gelu approximate must be 'none' or 'tanh', got '" + a + "'"));
        }
        if (n.op().equals("Celu") && n.attrFloat("alpha", 1.0) == 0)
            throw n.error(new InvalidModelException("Celu alpha must not be 0"));
        if (n.op().equals("Shrink") && n.attrFloat("lambd", 0.5) < 0)
            throw n.error(new InvalidModelException("Shrink lambd must not be negative, got " + n.attrFloat("lambd", 0.5)));
    }
}
