package dev.kiln.bench;

import java.util.Arrays;

/** Medians: robust to the odd slow repetition (a context switch, a clock change) that a mean would absorb. */
final class Stats {
    private Stats() {}

    static double median(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    static double gbps(long bytes, double ms) {
        return bytes / (ms * 1e-3) / 1e9;
    }
}
