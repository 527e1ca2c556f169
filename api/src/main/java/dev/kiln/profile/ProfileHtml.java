package dev.kiln.profile;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@link Profile} as one self-contained HTML page that works offline: a summary, a log-log roofline chart in
 * inline SVG (one ceiling per compute dtype present, one point per kernel with a tooltip) and a table of every
 * launch that sorts on a click on its header (a few lines of inline JavaScript).
 */
final class ProfileHtml {
    private ProfileHtml() {}

    /** Colours per fused-group kind; other kinds take the last. */
    static final Map<String, String> COLOURS = new LinkedHashMap<>();
    static {
        COLOURS.put("matmul", "#1f77b4");
        COLOURS.put("attention", "#9467bd");
        COLOURS.put("conv", "#2ca02c");
        COLOURS.put("reduce", "#d62728");
        COLOURS.put("elementwise", "#ff7f0e");
        COLOURS.put("pool", "#8c564b");
        COLOURS.put("movement", "#7f7f7f");
        COLOURS.put("other", "#17becf");
    }

    static final int W = 900, H = 520, LEFT = 70, RIGHT = 120, TOP = 20, BOTTOM = 50;

    static String render(Profile p) {
        StringBuilder b = new StringBuilder();
        b.append("""
                <!DOCTYPE html>
                <html lang="en"><head><meta charset="utf-8"><title>Kiln profile: %s</title>
                <style>
                body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
                h1{font-size:20px;margin:0 0 8px} p{margin:4px 0}
                table{border-collapse:collapse;font-size:12px;margin-top:12px}
                th,td{padding:3px 6px;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap}
                th{cursor:pointer;background:#f3f3f3;position:sticky;top:0;user-select:none}
                th:hover{background:#e4e4e4}
                td.l,th.l{text-align:left} td.nodes{max-width:480px;overflow:hidden;text-overflow:ellipsis}
                svg text{font:11px system-ui,sans-serif}
                .note{color:#666;font-size:12px}
                </style></head><body>
                """.formatted(esc(p.model())));
        b.append("<h1>Kiln profile: ").append(esc(p.model())).append(" (").append(esc(p.precision())).append(") on ")
                .append(esc(p.device())).append(" (").append(esc(p.arch())).append(")</h1>\n");
        for (String line : (ProfileText.header(p) + ProfileText.totals(p)).strip().split("\n"))
            if (!line.isBlank() && !line.startsWith("profile of")) b.append("<p>").append(esc(line)).append("</p>\n");
        b.append(chart(p));
        b.append(table(p));
        b.append("""
                <script>
                document.querySelectorAll('th').forEach((th, i) => th.addEventListener('click', () => {
                  const body = th.closest('table').tBodies[0], asc = th.dataset.asc !== '1';
                  th.closest('tr').querySelectorAll('th').forEach(h => delete h.dataset.asc);
                  th.dataset.asc = asc ? '1' : '0';
                  const key = r => r.cells[i].dataset.v !== undefined ? parseFloat(r.cells[i].dataset.v) : r.cells[i].textContent;
                  [...body.rows].sort((a, b) => {
                    const x = key(a), y = key(b);
                    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
                    return asc ? c : -c;
                  }).forEach(r => body.appendChild(r));
                }));
                </script>
                </body></html>
                """);
        return b.toString();
    }

    private static String table(Profile p) {
        StringBuilder b = new StringBuilder("<table><thead><tr>");
        String[] heads = {"#", "time us", "min us", "share %", "kind", "dtype", "grid", "block", "GFLOP", "MB", "FLOP/B", "TFLOP/s",
                "GB/s", "roof %", "kernel", "ONNX nodes"};
        for (String h : heads) b.append(h.equals("kind") || h.equals("dtype") || h.equals("kernel") || h.equals("ONNX nodes")
                ? "<th class=\"l\">" : "<th>").append(esc(h)).append("</th>");
        b.append("</tr></thead>\n<tbody>\n");
        double total = p.totalKernelMs();
        for (Profile.Kernel k : p.byTime()) {
            b.append("<tr>");
            num(b, k.launch(), "%.0f", true);
            num(b, k.ms() * 1e3, "%.1f", true);
            num(b, k.minMs() * 1e3, "%.1f", true);
            num(b, total > 0 ? 100 * k.ms() / total : 0, "%.1f", true);
            b.append("<td class=\"l\">").append(esc(k.kind())).append("</td>");
            b.append("<td class=\"l\">").append(esc(k.dtype() + (k.tensorCore() ? " (tc)" : ""))).append("</td>");
            b.append("<td>").append(esc(k.grid())).append("</td><td>").append(esc(k.block())).append("</td>");
            num(b, k.flops() / 1e9, "%.3f", k.costKnown());
            num(b, k.bytes() / 1e6, "%.2f", k.costKnown());
            num(b, k.intensity(), "%.1f", k.costKnown());
            num(b, k.tflops(), "%.2f", k.costKnown());
            num(b, k.gbs(), "%.0f", k.costKnown());
            num(b, k.rooflinePercent(), "%.1f", k.costKnown());
            b.append("<td class=\"l\">").append(esc(k.entry())).append("</td>");
            b.append("<td class=\"l nodes\" title=\"").append(esc(k.nodes())).append("\">").append(esc(k.nodes())).append("</td>");
            b.append("</tr>\n");
        }
        return b.append("</tbody></table>\n").toString();
    }

    private static void num(StringBuilder b, double v, String fmt, boolean known) {
        if (!known) {
            b.append("<td data-v=\"-1\">-</td>");
            return;
        }
        b.append("<td data-v=\"").append(String.format(Locale.ROOT, "%.6g", v)).append("\">")
                .append(String.format(Locale.ROOT, fmt, v)).append("</td>");
    }

    // ---- the roofline chart ----

    /** A log-log axis range in decades, covering the values with a margin. */
    record Range(double lo, double hi) {
        static Range of(double min, double max) {
            return new Range(Math.floor(Math.log10(min)), Math.ceil(Math.log10(max)));
        }
        double frac(double v) { return (Math.log10(v) - lo) / (hi - lo); }
    }

    private static String chart(Profile p) {
        List<Profile.Kernel> plotted = new ArrayList<>();
        for (Profile.Kernel k : p.kernels()) if (k.costKnown() && k.flops() > 0 && k.bytes() > 0 && k.ms() > 0) plotted.add(k);
        var pk = p.peaks();
        Map<String, Double> ceilings = new LinkedHashMap<>(); // label -> TFLOP/s
        if (p.kernels().stream().anyMatch(k -> k.tensorCore() && k.dtype().equals("f16"))) ceilings.put("f16 tensor cores", pk.f16TFlops());
        if (p.kernels().stream().anyMatch(k -> k.tensorCore() && k.dtype().equals("bf16"))) ceilings.put("bf16 tensor cores", pk.bf16TFlops());
        ceilings.put("f32 FMA", pk.f32TFlops());
        double bw = pk.memoryGBs() / 1e3; // TFLOP/s per FLOP/byte
        // x: from where the slowest ceiling's slope is a thousandth of it (or the least intense kernel) to ten
        // times the highest ridge; y: from the slowest point (or a thousandth of the f32 ceiling) to twice the top
        double maxY = 0, maxI = 0;
        for (double c : ceilings.values()) {
            maxY = Math.max(maxY, c * 2);
            maxI = Math.max(maxI, c / bw * 10);
        }
        double minY = pk.f32TFlops() / 1000, minI = minY / bw;
        for (Profile.Kernel k : plotted) {
            minI = Math.min(minI, k.intensity() / 2);
            maxI = Math.max(maxI, k.intensity() * 2);
            minY = Math.min(minY, k.tflops() / 2);
            maxY = Math.max(maxY, k.tflops() * 2);
        }
        Range x = Range.of(minI, maxI), y = Range.of(minY, maxY);
        int pw = W - LEFT - RIGHT, ph = H - TOP - BOTTOM;
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">%n", W, H, W, H));
        s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fff\" stroke=\"#999\"/>%n", LEFT, TOP, pw, ph));
        for (double d = x.lo(); d <= x.hi(); d++) {
            double px = LEFT + pw * (d - x.lo()) / (x.hi() - x.lo());
            s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#eee\"/>", px, TOP, px, TOP + ph));
            s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n", px, TOP + ph + 16, decade(d)));
        }
        for (double d = y.lo(); d <= y.hi(); d++) {
            double py = TOP + ph - ph * (d - y.lo()) / (y.hi() - y.lo());
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>", LEFT, py, LEFT + pw, py));
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n", LEFT - 6, py + 4, decade(d)));
        }
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">arithmetic intensity (FLOP / byte moved)</text>%n",
                LEFT + pw / 2, H - 10));
        s.append(String.format(Locale.ROOT, "<text transform=\"translate(16,%d) rotate(-90)\" text-anchor=\"middle\">achieved TFLOP/s</text>%n",
                TOP + ph / 2));
        String[] dash = {"", "6,3", "2,3"};
        int line = 0;
        for (Map.Entry<String, Double> c : ceilings.entrySet()) {
            double ridge = c.getValue() / bw;
            double x0 = Math.pow(10, x.lo()), x1 = Math.pow(10, x.hi());
            double y0 = Math.max(x0 * bw, Math.pow(10, y.lo()));
            double xs = y0 / bw; // where the slope enters the plot
            s.append(String.format(Locale.ROOT, "<polyline fill=\"none\" stroke=\"#333\" stroke-width=\"1.5\" stroke-dasharray=\"%s\" points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\"><title>%s: %.1f TFLOP/s, %.0f GB/s, ridge at %.1f FLOP/B</title></polyline>%n",
                    dash[line % dash.length], px(x, xs, pw), py(y, y0, ph), px(x, ridge, pw), py(y, c.getValue(), ph), px(x, x1, pw),
                    py(y, c.getValue(), ph), esc(c.getKey()), c.getValue(), pk.memoryGBs(), ridge));
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s: %.0f TFLOP/s</text>%n", LEFT + pw - 4,
                    py(y, c.getValue(), ph) - 5, esc(c.getKey()), c.getValue()));
            line++;
        }
        double total = p.totalKernelMs();
        for (Profile.Kernel k : plotted) {
            double r = 3 + 9 * Math.sqrt(total > 0 ? k.ms() / total : 0);
            s.append(String.format(Locale.ROOT, "<circle class=\"pt\" cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\" fill-opacity=\"0.6\" stroke=\"#000\" stroke-width=\"0.5\"><title>%s</title></circle>%n",
                    px(x, k.intensity(), pw), py(y, k.tflops(), ph), r, colour(k.kind()), esc(tooltip(k))));
        }
        int ly = TOP + 12;
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">kernel kind</text>%n", LEFT + pw + 12, ly));
        for (Map.Entry<String, String> c : COLOURS.entrySet()) {
            if (plotted.stream().noneMatch(k -> colour(k.kind()).equals(c.getValue()))) continue;
            ly += 18;
            s.append(String.format(Locale.ROOT, "<circle cx=\"%d\" cy=\"%d\" r=\"5\" fill=\"%s\" fill-opacity=\"0.6\" stroke=\"#000\" stroke-width=\"0.5\"/><text x=\"%d\" y=\"%d\">%s</text>%n",
                    LEFT + pw + 18, ly - 4, c.getValue(), LEFT + pw + 28, ly, c.getKey()));
        }
        s.append("</svg>\n");
        long skipped = p.kernels().size() - plotted.size();
        return s + "<p class=\"note\">One point per kernel (area ~ its share of the time; hover for details); lines: the roofline "
                + "min(peak, intensity × bandwidth) per compute ceiling." + (skipped > 0 ? " " + skipped
                + " launches with no FLOPs or an unknown cost (movement, copies) are not plotted." : "") + "</p>\n";
    }

    private static double px(Range x, double v, int pw) { return LEFT + pw * clamp(x.frac(v)); }

    private static double py(Range y, double v, int ph) { return TOP + ph - ph * clamp(y.frac(v)); }

    private static double clamp(double f) { return Math.max(0, Math.min(1, f)); }

    static String colour(String kind) { return COLOURS.getOrDefault(kind, COLOURS.get("other")); }

    private static String tooltip(Profile.Kernel k) {
        return String.format(Locale.ROOT, "#%d %s (%s%s) %s\n%.1f us, %.3f GFLOP, %.2f MB, %.1f FLOP/B\n%.2f TFLOP/s, %.0f GB/s, %.1f%% of roofline\n%s",
                k.launch(), k.kind(), k.dtype(), k.tensorCore() ? ", tensor cores" : "", k.entry(), k.ms() * 1e3, k.flops() / 1e9,
                k.bytes() / 1e6, k.intensity(), k.tflops(), k.gbs(), k.rooflinePercent(), ProfileText.cut(k.nodes(), 300));
    }

    static String decade(double d) {
        double v = Math.pow(10, d);
        if (v >= 1000) return String.format(Locale.ROOT, "%.0fk", v / 1000);
        return v >= 1 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%s", new java.math.BigDecimal(v).round(new java.math.MathContext(1)).toPlainString());
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
