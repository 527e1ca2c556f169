package dev.kiln.codegen;

import dev.kiln.ir.DType;
import dev.kiln.ir.UnsupportedException;

/**
 * How each dtype is stored in device memory and computed on in generated C. f16 and bf16 are stored as
 * {@code __half}/{@code __nv_bfloat16} and computed in float; bool is one byte (0/1) computed as {@code bool}.
 * The narrow float8/float4 and 4/2-bit integer types have no GPU path yet.
 */
public final class CTypes {
    private CTypes() {}

    public static String storage(DType t) {
        return switch (t) {
            case F32 -> "float";
            case F64 -> "double";
            case F16 -> "__half";
            case BF16 -> "__nv_bfloat16";
            case BOOL, U8 -> "unsigned char";
            case I8 -> "signed char";
            case I16 -> "short";
            case U16 -> "unsigned short";
            case I32 -> "int";
            case U32 -> "unsigned int";
            case I64 -> "long long";
            case U64 -> "unsigned long long";
            default -> throw new UnsupportedException("dtype " + t + " has no GPU code path yet (run it with --backend reference)");
        };
    }

    public static String compute(DType t) {
        return switch (t) {
            case F16, BF16, F32 -> "float";
            case BOOL -> "bool";
            default -> storage(t);
        };
    }

    /** C expression reading a stored element (an lvalue expression) into the compute type. */
    public static String load(DType t, String element) {
        return switch (t) {
            case F16 -> "__half2float(" + element + ")";
            case BF16 -> "__bfloat162float(" + element + ")";
            case BOOL -> "(" + element + " != 0)";
            default -> element;
        };
    }

    /** C expression turning a compute-type value into the stored type. */
    public static String store(DType t, String value) {
        return switch (t) {
            case F16 -> "__float2half_rn(" + value + ")";
            case BF16 -> "__float2bfloat16_rn(" + value + ")";
            case BOOL -> "(unsigned char)((" + value + ") ? 1 : 0)";
            default -> "(" + storage(t) + ")(" + value + ")";
        };
    }

    /**
     * {@code k} without the prelude's {@code cuda_bf16.h} when its source never names a bf16 type or function,
     * and without {@code cuda_fp16.h} when it names neither (cuda_bf16.h builds on it). The rest of the prelude
     * needs only NVRTC's built-in device functions.
     */
    public static KernelSpec withoutUnusedHeaders(KernelSpec k) {
        String src = k.source();
        boolean bf16 = src.contains("bfloat16"), f16 = bf16 || src.replace("cuda_fp16.h", "").contains("half");
        if (!bf16) src = src.replace("#include <cuda_bf16.h>\n", "");
        if (!f16) src = src.replace("#include <cuda_fp16.h>\n", "");
        return new KernelSpec(k.name(), src, k.entry(), k.grid(), k.block(), k.sharedBytes(), k.params(), k.origins());
    }

    /**
     * The headers every kernel source starts with (NVRTC gets the CUDA include folder), plus the few helpers
     * that op C expressions call because one expression must serve float, double and integer compute:
     * {@code kiln_fmod} (C remainder, sign of the dividend) and {@code kiln_mod} (sign of the divisor, as
     * ONNX Mod with fmod=0 and Python) and {@code kiln_ipow} (exact integer power, wrapping as
     * two's complement; a negative exponent gives the truncated reciprocal: 1, +-1 for base -1, else 0).
     */
    public static final String PRELUDE = """
            #include <cuda_fp16.h>
            #include <cuda_bf16.h>
            // constant-initializable float/double from bit patterns (inf and NaN in __device__ arrays)
            struct KilnF32Bits { unsigned int b; __device__ operator float() const { return __int_as_float((int) b); } };
            struct KilnF64Bits { unsigned long long b; __device__ operator double() const { return __longlong_as_double((long long) b); } };
            __device__ __forceinline__ float kiln_fmod(float a, float b) { return fmodf(a, b); }
            __device__ __forceinline__ double kiln_fmod(double a, double b) { return fmod(a, b); }
            template <typename T> __device__ __forceinline__ T kiln_fmod(T a, T b) { return (T)(a % b); }
            __device__ __forceinline__ float kiln_mod(float a, float b) { float m = fmodf(a, b); return m != 0.f && ((m < 0.f) != (b < 0.f)) ? m + b : m; }
            __device__ __forceinline__ double kiln_mod(double a, double b) { double m = fmod(a, b); return m != 0. && ((m < 0.) != (b < 0.)) ? m + b : m; }
            template <typename T> __device__ __forceinline__ T kiln_mod(T a, T b) { T m = (T)(a % b); return m != 0 && ((m < (T)0) != (b < (T)0)) ? (T)(m + b) : m; }
            template <typename T, typename E> __device__ __forceinline__ T kiln_ipow(T b, E e) {
              if (e < (E)1 && e != (E)0) return (long long)b == 1LL ? (T)1 : (long long)b == -1LL ? ((e & (E)1) ? (T)-1 : (T)1) : (T)0;
              unsigned long long r = 1ULL, x = (unsigned long long)(long long)b;
              while (e != (E)0) { if (e & (E)1) r *= x; x *= x; e = (E)(e / (E)2); }
              return (T)r;
            }
            """;
}
