package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.CudaSource;
import dev.kiln.ir.DType;

import java.util.List;

/**
 * Vector loads and stores of a run of channels for the channels-last kernels: up to 16 bytes as one
 * {@code uint4}/{@code uint2}/{@code unsigned} access, so a thread that owns 8 f16 channels moves them in one
 * instruction and a warp's accesses are contiguous.
 */
final class VecIo {
    private VecIo() {}

    /** Elements per access: the largest power of two up to 16 bytes that divides {@code channels} (1 when none does). */
    static int width(DType t, long channels) {
        int eb = Math.max(1, t.bits() / 8);
        for (int v = 16 / eb; v > 1; v /= 2) if (channels % v == 0) return v;
        return 1;
    }

    private static String raw(int bytes) {
        return switch (bytes) {
            case 16 -> "uint4";
            case 8 -> "uint2";
            case 4 -> "unsigned int";
            case 2 -> "unsigned short";
            default -> "unsigned char";
        };
    }

    /** {@code dst[0..v) = (acc) ptr[0..v)}: ptr an element pointer expression aligned to v elements. */
    static void load(CudaSource s, DType t, int v, String dst, String acc, String ptr) {
        if (v == 1) {
            s.line("%s[0] = (%s)%s;", dst, acc, CTypes.load(t, "(" + ptr + ")[0]"));
            return;
        }
        try (var b = s.block("")) {
            s.line("const %s r_ = *reinterpret_cast<const %s*>(%s);", raw(v * t.bits() / 8), raw(v * t.bits() / 8), ptr);
            s.line("const %s* e_ = reinterpret_cast<const %s*>(&r_);", CTypes.storage(t), CTypes.storage(t));
            for (int i = 0; i < v; i++) s.line("%s[%d] = (%s)%s;", dst, i, acc, CTypes.load(t, "e_[" + i + "]"));
        }
    }

    /**
     * {@code dst[0..n) = src[0..n)} as raw bits in accesses of up to 16 bytes (no conversion): dst and src element
     * pointers or arrays of type t, aligned to the access.
     */
    static void copy(CudaSource s, DType t, int n, String dst, String src) {
        int bytes = n * t.bits() / 8, step = Math.min(16, bytes), per = step * 8 / t.bits();
        for (int i = 0; i < n; i += per)
            s.line("*reinterpret_cast<%s*>(%s + %d) = *reinterpret_cast<const %s*>(%s + %d);", raw(step), dst, i, raw(step), src, i);
    }

    /** {@code ptr[0..v) = values}, each already in the storage type. */
    static void store(CudaSource s, DType t, int v, String ptr, List<String> values) {
        if (v == 1) {
            s.line("(%s)[0] = %s;", ptr, values.get(0));
            return;
        }
        try (var b = s.block("")) {
            s.line("__align__(16) %s e_[%d];", CTypes.storage(t), v);
            for (int i = 0; i < v; i++) s.line("e_[%d] = %s;", i, values.get(i));
            s.line("*reinterpret_cast<%s*>(%s) = *reinterpret_cast<const %s*>(e_);", raw(v * t.bits() / 8), ptr, raw(v * t.bits() / 8));
        }
    }
}
