package dev.kiln.golden;

import dev.kiln.ir.DType;

/**
 * How close an output must be to the expected one: {@code |actual - expected| <= atol + rtol * |expected|}.
 * The values are the ONNX suite README's: f32/f64 rtol 1e-3 atol 1e-5; f16 rtol 1e-2 atol 1e-3; bf16 rtol 2e-2
 * atol 1e-2; whole models rtol 1e-3 atol 1e-4 (they chain many ops). Integers, bools, strings and the
 * 8-bit and sub-byte float types must match bit for bit ({@link #exact()}).
 */
public record Tolerance(double rtol, double atol, boolean exact) {
    public static Tolerance exactBits() { return new Tolerance(0, 0, true); }

    /** The tolerance for one output of a node/simple/pytorch case. */
    public static Tolerance forCase(DType t) {
        return switch (t) {
            case F32, F64 -> new Tolerance(1e-3, 1e-5, false);
            case F16 -> new Tolerance(1e-2, 1e-3, false);
            case BF16 -> new Tolerance(2e-2, 1e-2, false);
            default -> exactBits();
        };
    }

    /** The tolerance for one output of a whole model under {@code models/}. */
    public static Tolerance forModel(DType t) {
        return t == DType.F32 || t == DType.F64 ? new Tolerance(1e-3, 1e-4, false) : forCase(t);
    }
}
