package dev.kiln.codegen.kernels.ew;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.CudaSource;
import dev.kiln.codegen.ExprEmitter;
import dev.kiln.ir.DType;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.UnsupportedException;

/** C literals for constant tensor elements, in the compute type of their dtype. */
public final class Literals {
    private Literals() {}

    /** Constants larger than this are not baked into kernel source. */
    static final int MAX_BAKED = 1 << 16;

    static String of(Tensor t, int i) {
        DType d = t.dtype();
        return switch (d) {
            case F32, F16, BF16 -> ExprEmitter.floatLiteral(t.getDouble(i));
            case F64 -> doubleLiteral(t.getDouble(i));
            case BOOL -> t.getBool(i) ? "true" : "false";
            case U8, U16, U32, U64 -> "(" + CTypes.compute(d) + ")" + Long.toUnsignedString(t.getLong(i)) + "ULL";
            case I8, I16, I32, I64 -> "(" + CTypes.compute(d) + ")" + Index.lit(t.getLong(i));
            default -> throw new UnsupportedException("constants of dtype " + d + " have no GPU code path yet");
        };
    }

    public static String doubleLiteral(double v) {
        if (Double.isNaN(v)) return "__longlong_as_double(0x7ff8000000000000LL)";
        if (Double.isInfinite(v)) return v > 0 ? "__longlong_as_double(0x7ff0000000000000LL)" : "__longlong_as_double(0xfff0000000000000LL)";
        return Double.toString(v).replace("E", "e");
    }

    static boolean hasNonFinite(Tensor t) {
        for (int i = 0; i < t.numel(); i++) if (!Double.isFinite(t.getDouble(i))) return true;
        return false;
    }

    /**
     * A float/double table as bit patterns (KilnF32Bits/KilnF64Bits from the prelude convert implicitly):
     * inf and NaN have no literal NVRTC accepts in a constant initializer.
     */
    static String bitsArray(String name, boolean f64, double[] v) {
        StringBuilder b = new StringBuilder("static __device__ const " + (f64 ? "KilnF64Bits " : "KilnF32Bits ") + name
                + "[" + Math.max(1, v.length) + "] = {");
        for (int i = 0; i < v.length; i++)
            b.append(i == 0 ? "{" : ", {").append(f64 ? "0x" + Long.toHexString(Double.doubleToRawLongBits(v[i])) + "ULL"
                    : "0x" + Integer.toHexString(Float.floatToRawIntBits((float) v[i])) + "u").append('}');
        return b.append("};").toString();
    }

    /** {@link #array} for templates outside this package (contraction epilogues). */
    public static void table(CudaSource src, String name, Tensor t) { array(src, name, t); }

    /** Declares {@code static __device__ const T name[] = {...}} (compute type) at file scope. */
    static void array(CudaSource src, String name, Tensor t) {
        if (t.numel() > MAX_BAKED)
            throw new UnsupportedException("a constant of " + t.numel() + " elements inside a fused group is too large to bake into a kernel");
        if (t.dtype().isFloat() && hasNonFinite(t)) {
            src.line(bitsArray(name, t.dtype() == DType.F64, t.toDoubles()));
            return;
        }
        StringBuilder b = new StringBuilder("static __device__ const " + CTypes.compute(t.dtype()) + " " + name + "[" + Math.max(1, t.numel()) + "] = {");
        for (int i = 0; i < t.numel(); i++) b.append(i == 0 ? "" : ", ").append(of(t, i));
        src.line(b.append("};").toString());
    }
}
