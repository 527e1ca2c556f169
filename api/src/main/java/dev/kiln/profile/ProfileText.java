package dev.kiln.profile;

import java.util.List;
import java.util.Locale;

/** {@link Profile} as a text table: the slowest kernels first, then totals. */
final class ProfileText {
    private ProfileText() {}

    static final int NODES_WIDTH = 60;

    static String render(Profile p, int top) {
        StringBuilder b = new StringBuilder();
        b.append(header(p));
        List<Profile.Kernel> sorted = p.byTime();
        double total = p.totalKernelMs();
        int shown = Math.min(Math.max(top, 0), sorted.size());
        b.append(String.format(Locale.ROOT, "%5s %10s %6s  %-11s %-5s %-11s %-7s %9s %9s %8s %8s %6s  %s%n", "#", "time us", "share",
                "kind", "dtype", "grid", "block", "GFLOP", "MB", "TFLOP/s", "GB/s", "roof%", "kernel: ONNX nodes"));
        double shownMs = 0;
        for (Profile.Kernel k : sorted.subList(0, shown)) {
            shownMs += k.ms();
            b.append(String.format(Locale.ROOT, "%5d %10.1f %5.1f%%  %-11s %-5s %-11s %-7s %9s %9s %8s %8s %6s  %s%n", k.launch(),
                    k.ms() * 1e3, total > 0 ? 100 * k.ms() / total : 0, cut(k.kind(), 11), k.dtype() + (k.tensorCore() ? "*" : ""),
                    k.grid(), k.block(), num(k, k.flops() / 1e9, "%.3f"), num(k, k.bytes() / 1e6, "%.2f"), num(k, k.tflops(), "%.2f"),
                    num(k, k.gbs(), "%.0f"), num(k, k.rooflinePercent(), "%.1f"), k.entry() + ": " + cut(k.nodes(), NODES_WIDTH)));
        }
        b.append(String.format(Locale.ROOT, "%nshown: the %d slowest of %d launches, %.1f%% of the summed kernel time%n", shown,
                sorted.size(), total > 0 ? 100 * shownMs / total : 0));
        b.append(totals(p));
        return b.toString();
    }

    static String header(Profile p) {
        var pk = p.peaks();
        return String.format(Locale.ROOT, """
                profile of %s (%s) on %s (%s)
                peaks (measured, cached): memory %.0f GB/s; mma.sync f16 %.0f, bf16 %.0f TFLOP/s; f32 FMA %.1f TFLOP/s
                each launch alone: median of %d after warm-up, CUDA events around one launch%s; an empty launch measures %.1f us this way (in every time below)
                roof%% = roofline bound / time, bound = max(FLOPs / peak, bytes / bandwidth); dtype* (tc): the tensor-core peak is the ceiling

                """, p.model(), p.precision(), p.device(), p.arch(), pk.memoryGBs(), pk.f16TFlops(), pk.bf16TFlops(), pk.f32TFlops(),
                p.runs(), p.flushedL2() ? ", L2 flushed before each" : ", L2 warm", p.emptyLaunchMs() * 1e3);
    }

    static String totals(Profile p) {
        long unknown = p.kernels().stream().filter(k -> !k.costKnown()).count();
        return String.format(Locale.ROOT, "total: %d launches; sum of kernel times %.3f ms; whole graph replay %.3f ms (median of %d)%s%n",
                p.kernels().size(), p.totalKernelMs(), p.graphMs(), p.graphReplays(),
                unknown == 0 ? "" : "; " + unknown + (unknown == 1 ? " launch" : " launches") + " with no IR node (cost unknown)");
    }

    private static String num(Profile.Kernel k, double v, String fmt) { return k.costKnown() ? String.format(Locale.ROOT, fmt, v) : "-"; }

    static String cut(String s, int width) { return s.length() <= width ? s : s.substring(0, width - 3) + "..."; }
}
