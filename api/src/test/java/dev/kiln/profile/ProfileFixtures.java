package dev.kiln.profile;

import dev.kiln.runtime.DevicePeaks;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** A synthetic profile shaped like a BERT-base run on an H200 (figures invented, seeded): for report tests, no GPU. */
final class ProfileFixtures {
    private ProfileFixtures() {}

    static final DevicePeaks PEAKS = new DevicePeaks("NVIDIA H200", "sm_90", 13000, 4300, 660, 662, 61.5, "2026-11-28T00:00:00Z");

    static Profile bertLike(int layers, long seed) {
        Random r = new Random(seed);
        List<Profile.Kernel> ks = new ArrayList<>();
        long m = 128, h = 768, f = 3072;
        for (int l = 0; l < layers; l++) {
            String p = "/encoder/layer." + l;
            for (String qkv : List.of("query", "key", "value")) ks.add(mm(ks.size(), p + "/attention/self/" + qkv + "/MatMul", m, h, h, 60 + 40 * r.nextDouble()));
            ks.add(k(ks.size(), "attention", "f16", true, p + "/attention/self/MatMul,/Softmax,/MatMul_1", 4.0 * 12 * 128 * 128 * 64,
                    4L * 12 * 128 * 64 * 2 + 128 * 128, 60 + 30 * r.nextDouble(), "12x2", "128"));
            ks.add(mm(ks.size(), p + "/attention/output/dense/MatMul,/Add", m, h, h, 80 + 40 * r.nextDouble()));
            ks.add(k(ks.size(), "reduce", "f16", false, p + "/attention/output/LayerNorm", 8.0 * m * h, 2L * 2 * m * h + 4 * h,
                    3 + r.nextDouble(), "128", "256"));
            ks.add(mm(ks.size(), p + "/intermediate/dense/MatMul,/Gelu", m, f, h, 200 + 60 * r.nextDouble()));
            ks.add(mm(ks.size(), p + "/output/dense/MatMul,/Add", m, h, f, 400 + 80 * r.nextDouble()));
            ks.add(k(ks.size(), "movement", "f16", false, p + "/attention/self/Transpose", 0, 2L * 2 * m * h, 2.5 + r.nextDouble(), "384", "256"));
        }
        ks.add(new Profile.Kernel(ks.size(), "kiln_constant_output", "", "", "?", "f32", false, "1", "256", 0.0021, 0.002, 0, 0, PEAKS.f32TFlops(), PEAKS.memoryGBs()));
        double sum = ks.stream().mapToDouble(Profile.Kernel::ms).sum();
        return new Profile("bert-base <test> & co", "NVIDIA H200", "sm_90", "fp16", PEAKS, sum * 0.9, 50, 0.0021, 20, true, ks);
    }

    private static Profile.Kernel mm(int i, String nodes, long m, long n, long k, double us) {
        return k(i, "matmul", "f16", true, nodes, 2.0 * m * n * k, 2L * (m * k + k * n + m * n), us, (n / 64) + "x2", "128");
    }

    private static Profile.Kernel k(int i, String kind, String dtype, boolean tc, String nodes, double flops, long bytes, double us,
                                    String grid, String block) {
        return new Profile.Kernel(i, "kiln_" + kind + "_" + i, nodes, "v" + i, kind, dtype, tc, grid, block, us / 1e3, us / 1e3 * 0.97,
                flops, bytes, tc ? PEAKS.tflops(dtype) : PEAKS.f32TFlops(), PEAKS.memoryGBs());
    }
}
