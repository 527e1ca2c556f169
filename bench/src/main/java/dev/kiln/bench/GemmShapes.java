package dev.kiln.bench;

import dev.kiln.ir.DType;

import java.util.ArrayList;
import java.util.List;

/**
 * The GEMM micro-benchmark shapes (issue 7): {@code C[m,n] = A[m,k] B[k,n]}, B a row-major [K,N] weight, or
 * with {@code bt} a [N,K] one read transposed (GPT-2's tied LM head). The key names a shape in both Kiln's
 * and PyTorch's JSON (bench/harness/gemm_torch.py lists the same shapes).
 */
record GemmShapes(String key, DType dtype, long m, long n, long k, boolean bt) {
    static final long[][] MODEL_NK = {{768, 768}, {2304, 768}, {3072, 768}, {768, 3072}, {1024, 1024}, {3072, 1024},
            {4096, 1024}, {1024, 4096}, {50257, 768}};

    static GemmShapes of(DType t, long m, long n, long k, boolean bt) {
        return new GemmShapes((t == DType.F16 ? "f16" : t == DType.BF16 ? "bf16" : "f32") + "_" + m + "x" + n + "x" + k + (bt ? "_bt" : ""), t, m, n, k, bt);
    }

    /**
     * {@code all}, {@code model} (M = 128, 145, with the LM heads), {@code layers} (the model set without the LM heads),
     * {@code ragged} (four M = 145 layer shapes), {@code big} (8192^3), {@code skinny} (M = 1), {@code f32}.
     */
    static List<GemmShapes> select(String which) {
        List<GemmShapes> out = new ArrayList<>();
        boolean all = which.equals("all");
        if (all || which.equals("big")) out.add(of(DType.F16, 8192, 8192, 8192, false));
        if (all || which.equals("model"))
            for (long m : new long[] {128, 145})
                for (long[] nk : MODEL_NK) out.add(of(DType.F16, m, nk[0], nk[1], false));
        if (all || which.equals("model")) out.add(of(DType.F16, 128, 50257, 768, true));
        if (which.equals("layers")) // the model set without the LM heads: the transformer layers' GEMMs
            for (long m : new long[] {128, 145})
                for (long[] nk : MODEL_NK)
                    if (nk[0] != 50257) out.add(of(DType.F16, m, nk[0], nk[1], false));
        if (which.equals("ragged")) // M = 145 (ViT's 144 patches and a class token) at the widest N: 64-row tiles pad it to 192
            for (long[] nk : new long[][] {{3072, 768}, {3072, 1024}, {4096, 1024}, {2304, 768}}) out.add(of(DType.F16, 145, nk[0], nk[1], false));
        if (all || which.equals("skinny")) {
            out.add(of(DType.F16, 1, 1000, 2048, false));
            out.add(of(DType.F16, 1, 4096, 4096, false));
        }
        if (all || which.equals("f32")) {
            out.add(of(DType.F32, 128, 768, 768, false));
            out.add(of(DType.F32, 128, 3072, 768, false));
            out.add(of(DType.F32, 128, 768, 3072, false));
            out.add(of(DType.F32, 128, 2304, 768, false));
            out.add(of(DType.F32, 128, 50257, 768, true)); // GPT-2's tied LM head in fp32
            out.add(of(DType.F32, 1, 1000, 2048, false));
            out.add(of(DType.F32, 2048, 2048, 2048, false));
        }
        if (out.isEmpty()) throw new IllegalArgumentException("unknown shape set " + which + " (all, big, model, layers, ragged, skinny, f32)");
        return out;
    }

    double flops() { return 2.0 * m * n * k; }

    long bytes() { return (m * k + k * n + m * n) * (long) dtype.storageBytes(); }
}
