package dev.kiln.passes;

import java.util.Set;

/**
 * The primitive op set of docs/primitives.md: what a graph holds after {@code canonicalize} and what codegen
 * lowers. Kept as one table here because the ops' PRIMITIVE trait is not set in the op registry yet.
 */
public final class Primitives {
    private Primitives() {}

    public static final Set<String> OPS = Set.of(
            // elementwise
            "Add", "Sub", "Mul", "Div", "Pow", "Mod", "Neg", "Abs", "Sqrt", "Reciprocal", "Exp", "Log", "Tanh", "Sigmoid",
            "Relu", "LeakyRelu", "Elu", "Selu", "Celu", "HardSigmoid", "HardSwish", "Gelu", "Erf", "Softplus", "Softsign",
            "Shrink", "PRelu", "Clip", "Min", "Max", "Where", "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual",
            "Not", "And", "Or", "Xor", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Floor", "Ceil", "Round",
            "Sign", "IsNaN", "IsInf", "BitShift", "Cast", "Identity",
            // views, movement
            "Reshape", "Transpose", "Slice", "Concat", "Gather", "GatherElements", "Expand", "Pad", "Tile", "DepthToSpace",
            "SpaceToDepth", "Resize", "Trilu",
            // reduction, contraction, pooling, attention
            "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ArgMax", "ArgMin", "MatMul", "Conv", "ConvTranspose",
            "MaxPool", "AveragePool", "Attention",
            // channels-last forms (made by channels-last, after canonicalize)
            "NhwcConv", "NhwcMaxPool", "NhwcAveragePool",
            // structure
            "Constant", "Fused");

    /** Min and Max are primitive only in their binary form. */
    public static boolean isPrimitive(dev.kiln.ir.Node n) {
        if ((n.op().equals("Min") || n.op().equals("Max")) && n.inputs().size() != 2) return false;
        return OPS.contains(n.op());
    }
}
