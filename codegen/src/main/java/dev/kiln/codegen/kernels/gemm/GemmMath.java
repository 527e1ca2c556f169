package dev.kiln.codegen.kernels.gemm;

import dev.kiln.ir.DType;
import dev.kiln.ir.UnsupportedException;

/**
 * The arithmetic a GEMM runs on: tensor cores ({@code mma.sync} m16n8k16 for f16/bf16, m16n8k8 for TF32,
 * always with fp32 accumulators) or CUDA cores (fp32 FFMA, fp64 DFMA; f16/bf16 too, computed in fp32, for
 * GPUs without tensor-core paths). {@code mmaK} is the k of one mma (0 on CUDA cores).
 */
public enum GemmMath {
    F16(DType.F16, 16), BF16(DType.BF16, 16), TF32(DType.F32, 8), F32(DType.F32, 0), F64(DType.F64, 0),
    /** f16/bf16 operands on CUDA cores (no tensor cores on the target). */
    F16_SIMT(DType.F16, 0), BF16_SIMT(DType.BF16, 0);

    public final DType dtype;
    public final int mmaK;

    GemmMath(DType dtype, int mmaK) { this.dtype = dtype; this.mmaK = mmaK; }

    /** The math for operands of {@code t}: TF32 only when allowed, tensor cores only from sm_80. */
    public static GemmMath of(DType t, boolean allowTf32, int sm) {
        boolean tc = sm >= 80;
        return switch (t) {
            case F16 -> tc ? F16 : F16_SIMT;
            case BF16 -> tc ? BF16 : BF16_SIMT;
            case F32 -> tc && allowTf32 ? TF32 : F32;
            case F64 -> F64;
            default -> throw new UnsupportedException("MatMul on " + t + " has no GPU kernel yet");
        };
    }

    public boolean tensorCores() { return mmaK > 0; }

    /** Bytes of one stored operand element. */
    public int elemBytes() { return dtype.storageBytes(); }

    /** C type of the accumulators (and of split-K partial sums). */
    public String acc() { return dtype == DType.F64 ? "double" : "float"; }

    public int accBytes() { return dtype == DType.F64 ? 8 : 4; }
}
