package dev.kiln.codegen.kernels.ew;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.CudaSource;
import dev.kiln.codegen.ExprEmitter;
import dev.kiln.ir.DType;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.UnsupportedException;
import dev.kiln.ir.Value;

import java.util.ArrayList;
import java.util.List;

/**
 * Per-op source index math of the movement kernel. Inside the element loop, {@code i} is the output's linear
 * index and {@code o0..o(r-1)} its coordinates; each op writes {@code out[i]}. Shape inputs (perm, starts,
 * pads, repeats, scales...) must be constants; they are baked in.
 */
final class SourceIndex {
    private final Body b;
    private final Node m;
    private final CudaSource src;
    private final String idx, out;
    private final long[] shape;

    SourceIndex(Body b, Node m, CudaSource src, String idx, long[] shape, String out) {
        this.b = b;
        this.m = m;
        this.src = src;
        this.idx = idx;
        this.shape = shape;
        this.out = out;
    }

    /** Data inputs that are constants copied into the body (small weights, e.g. an Embedding table): input -> table. */
    private final java.util.Map<Integer, String> baked = new java.util.HashMap<>();

    private String p(int input) {
        Value v = m.input(input);
        if (baked.containsKey(input)) return baked.get(input);
        int k = b.param(v);
        if (k < 0) throw m.error(new UnsupportedException("input " + input + " of " + m.op() + " must be a kernel input here"));
        return "p" + k;
    }

    private long[] in(int input) { return Body.sizes(m.input(input)); }

    private long[] constLongs(int input, String what) {
        if (!m.hasInput(input)) return null;
        Tensor t = b.constant(m.input(input));
        if (t == null) throw m.error(new UnsupportedException(m.op() + "'s " + what + " must be a constant for GPU code"));
        return t.toLongs();
    }

    private static long norm(long a, long rank) { return a < 0 ? a + rank : a; }

    /** {@code sum_d coord[d] * strides[d]} as C, skipping zero strides. */
    private static String dot(List<String> coords, long[] strides) {
        List<String> terms = new ArrayList<>();
        for (int d = 0; d < strides.length; d++) {
            if (strides[d] == 0) continue;
            terms.add(strides[d] == 1 ? coords.get(d) : coords.get(d) + " * " + Index.lit(strides[d]));
        }
        return terms.isEmpty() ? "0" : String.join(" + ", terms);
    }

    private List<String> outCoords() {
        List<String> l = new ArrayList<>();
        for (int d = 0; d < shape.length; d++) l.add("o" + d);
        return l;
    }

    /** Element {@code at} of data input {@code input} in its storage type (a baked table holds the compute type). */
    private String elem(int input, String at) {
        String e = p(input) + "[" + at + "]";
        return baked.containsKey(input) ? CTypes.store(m.input(input).dtype(), e) : e;
    }

    /** Element {@code at} of data input {@code input} in its compute type. */
    private String load(int input, String at) {
        String e = p(input) + "[" + at + "]";
        return baked.containsKey(input) ? e : CTypes.load(m.input(input).dtype(), e);
    }

    private void copy(String from) { src.line("%s[i] = %s;", out, elem(0, from)); }

    /**
     * File-scope tables, emitted before the kernel: data inputs that are body constants (grouping copies small
     * constants into the body, so they have no buffer parameter) and Resize's index/weight tables.
     */
    void tables() {
        List<Integer> data = new ArrayList<>(List.of(0));
        if (m.op().equals("Concat")) for (int k = 1; k < m.inputs().size(); k++) data.add(k);
        if (m.op().equals("Gather") || m.op().equals("GatherElements") || m.op().equals("GatherND")) data.add(1);
        for (int k : data) {
            Value v = m.input(k);
            if (v.isNone() || b.param(v) >= 0 || b.constant(v) == null) continue;
            String name = "c_in" + k;
            Literals.array(src, name, b.constant(v));
            baked.put(k, name);
        }
        if (m.op().equals("Resize")) resizeTables();
    }

    void body() {
        switch (m.op()) {
            case "Reshape", "Identity", "Flatten", "Squeeze", "Unsqueeze" -> copy("i");
            case "Expand" -> copy(Index.offset("i", shape, Index.broadcastStrides(in(0), shape)));
            case "Transpose" -> transpose();
            case "Slice" -> slice();
            case "Tile" -> tile();
            case "Concat" -> concat();
            case "Gather" -> gather();
            case "GatherElements" -> gatherElements();
            case "GatherND" -> gatherNd();
            case "Pad" -> pad();
            case "DepthToSpace", "SpaceToDepth" -> blocks(m.op().equals("DepthToSpace"));
            case "Trilu" -> trilu();
            case "Resize" -> resize();
            default -> throw m.error(new UnsupportedException("op " + m.op() + " has no movement kernel"));
        }
    }

    private void transpose() {
        long[] s = in(0), st = Index.strides(s), perm = m.attrInts("perm");
        long[] strides = new long[shape.length];
        for (int d = 0; d < shape.length; d++) strides[d] = st[(int) (perm == null ? shape.length - 1 - d : norm(perm[d], s.length))];
        copy(Index.offset("i", shape, strides));
    }

    /** in[start_a + o_a * step_a]: a base offset plus one signed stride per axis. */
    private void slice() {
        long[] s = in(0), st = Index.strides(s);
        long[] starts = constLongs(1, "starts"), ends = constLongs(2, "ends"), axes = constLongs(3, "axes"), steps = constLongs(4, "steps");
        long[] first = new long[s.length], step = new long[s.length];
        java.util.Arrays.fill(step, 1);
        for (int k = 0; k < starts.length; k++) {
            int a = (int) norm(axes == null ? k : axes[k], s.length);
            step[a] = steps == null ? 1 : steps[k];
            first[a] = sliceStart(starts[k], step[a], s[a]);
        }
        long base = 0;
        long[] strides = new long[s.length];
        for (int a = 0; a < s.length; a++) {
            base += first[a] * st[a];
            strides[a] = step[a] * st[a];
        }
        String off = Index.offset("i", shape, strides);
        copy(base == 0 ? off : Index.lit(base) + " + " + off);
    }

    /** ONNX Slice's clamped first index (as SliceOps.sliceDim). */
    static long sliceStart(long start, long step, long d) {
        if (d == 0) return 0;
        long s = start < 0 ? start + d : start;
        return step > 0 ? Math.clamp(s, 0, d) : Math.clamp(s, 0, d - 1);
    }

    private void tile() {
        long[] s = in(0), st = Index.strides(s);
        List<String> c = new ArrayList<>();
        for (int d = 0; d < s.length; d++) c.add(s[d] == shape[d] ? "o" + d : "(o" + d + " % " + Index.lit(s[d]) + ")");
        copy(dot(c, st));
    }

    private void concat() {
        int axis = (int) norm(m.attrInt("axis"), shape.length);
        long start = 0;
        List<Integer> live = new ArrayList<>();
        for (int k = 0; k < m.inputs().size(); k++) if (in(k)[axis] > 0) live.add(k);
        for (int j = 0; j < live.size(); j++) {
            int k = live.get(j);
            long[] s = in(k);
            List<String> c = outCoords();
            c.set(axis, start == 0 ? "o" + axis : "(o" + axis + " - " + Index.lit(start) + ")");
            start += s[axis];
            String cond = j == live.size() - 1 ? (j == 0 ? "" : "else ") : (j == 0 ? "" : "else ") + "if (o" + axis + " < " + Index.lit(start) + ") ";
            src.line("%s%s[i] = %s;", cond, out, elem(k, dot(c, Index.strides(s))));
        }
    }

    private void gather() {
        long[] s = in(0), st = Index.strides(s), is = in(1);
        int axis = (int) norm(m.attrInt("axis", 0), s.length), q = is.length;
        List<String> ic = new ArrayList<>();
        for (int j = 0; j < q; j++) ic.add("o" + (axis + j));
        src.line("long long g = (long long)%s[%s];", p(1), dot(ic, Index.strides(is)));
        src.line("if (g < 0) g += %s;", Index.lit(s[axis]));
        List<String> c = new ArrayList<>();
        for (int d = 0; d < s.length; d++) c.add(d < axis ? "o" + d : d == axis ? "g" : "o" + (d + q - 1));
        copy(dot(c, st));
    }

    /**
     * ONNX GatherND with batch_dims b: the output's first r-1 coords (r = indices' rank) pick an index tuple of
     * k = indices' last dim; data coords are the b batch coords, then the tuple (negative wraps), then the
     * output's trailing coords.
     */
    private void gatherNd() {
        long[] s = in(0), st = Index.strides(s), is = in(1), ist = Index.strides(is);
        int b = (int) m.attrInt("batch_dims", 0), r = is.length, k = (int) is[r - 1];
        List<String> ic = new ArrayList<>();
        for (int j = 0; j < r - 1; j++) ic.add("o" + j);
        src.line("const long long gb = %s;", r == 1 ? "0" : dot(ic, java.util.Arrays.copyOf(ist, r - 1)));
        List<String> c = new ArrayList<>();
        for (int d = 0; d < b; d++) c.add("o" + d);
        for (int j = 0; j < k; j++) {
            String at = "gb" + (j == 0 ? "" : " + " + j);
            src.line("long long g%d = (long long)%s[%s];", j, p(1), at);
            src.line("if (g%d < 0) g%d += %s;", j, j, Index.lit(s[b + j]));
            c.add("g" + j);
        }
        for (int d = b + k; d < s.length; d++) c.add("o" + (r - 1 + d - b - k));
        copy(c.isEmpty() ? "0" : dot(c, st));
    }

    private void gatherElements() {
        long[] s = in(0), st = Index.strides(s);
        int axis = (int) norm(m.attrInt("axis", 0), s.length);
        src.line("long long g = (long long)%s[i];", p(1));
        src.line("if (g < 0) g += %s;", Index.lit(s[axis]));
        List<String> c = outCoords();
        c.set(axis, "g");
        copy(dot(c, st));
    }

    private void pad() {
        long[] s = in(0), st = Index.strides(s);
        long[] pads = constLongs(1, "pads"), axes = constLongs(3, "axes");
        int n = axes == null ? s.length : axes.length;
        long[] begin = new long[s.length], end = new long[s.length];
        for (int k = 0; k < n; k++) {
            int a = (int) norm(axes == null ? k : axes[k], s.length);
            begin[a] = pads[k];
            end[a] = pads[n + k];
        }
        String mode = m.attrString("mode", "constant");
        List<String> c = new ArrayList<>();
        List<String> inside = new ArrayList<>();
        for (int a = 0; a < s.length; a++) {
            if (begin[a] == 0 && end[a] == 0) { c.add("o" + a); continue; }
            String v = "s" + a;
            src.line("long long %s = (long long)o%d - %s;", v, a, Index.lit(begin[a]));
            long d = s[a];
            switch (mode) {
                case "constant" -> inside.add(v + " >= 0 && " + v + " < " + Index.lit(d));
                case "edge" -> src.line("%s = %s < 0 ? 0 : %s >= %s ? %s : %s;", v, v, v, Index.lit(d), Index.lit(d - 1), v);
                case "wrap" -> src.line("%s = ((%s %% %s) + %s) %% %s;", v, v, Index.lit(d), Index.lit(d), Index.lit(d));
                case "reflect" -> {
                    long period = 2 * (d - 1);
                    if (period == 0) src.line("%s = 0;", v);
                    else {
                        src.line("%s = ((%s %% %s) + %s) %% %s;", v, v, Index.lit(period), Index.lit(period), Index.lit(period));
                        src.line("if (%s >= %s) %s = %s - %s;", v, Index.lit(d), v, Index.lit(period), v);
                    }
                }
                default -> throw m.error(new UnsupportedException("Pad mode '" + mode + "' has no GPU kernel"));
            }
            c.add(v);
        }
        if (inside.isEmpty()) { copy(dot(c, st)); return; }
        String fill;
        DType t = m.input(0).dtype();
        if (!m.hasInput(2)) fill = CTypes.store(t, "0");
        else if (b.constant(m.input(2)) != null) fill = CTypes.store(t, Literals.of(b.constant(m.input(2)), 0));
        else fill = p(2) + "[0]";
        src.line("%s[i] = (%s) ? %s : %s;", out, String.join(" && ", inside), elem(0, dot(c, st)), fill);
    }

    /** DepthToSpace (DCR or CRD) and SpaceToDepth (inverse of DCR), on [N,C,H,W]. */
    private void blocks(boolean toSpace) {
        long[] s = in(0), st = Index.strides(s);
        long bs = m.attrInt("blocksize");
        String bl = Index.lit(bs);
        if (toSpace) {
            boolean crd = m.attrString("mode", "DCR").equals("CRD");
            src.line("%s bi = o2 %% %s, bj = o3 %% %s;", idx, bl, bl);
            String ch = crd ? "(o1 * " + Index.lit(bs * bs) + " + bi * " + bl + " + bj)" : "((bi * " + bl + " + bj) * " + Index.lit(shape[1]) + " + o1)";
            copy(dot(List.of("o0", ch, "(o2 / " + bl + ")", "(o3 / " + bl + ")"), st));
        } else {
            src.line("%s blk = o1 / %s, ch = o1 %% %s;", idx, Index.lit(s[1]), Index.lit(s[1]));
            copy(dot(List.of("o0", "ch", "(o2 * " + bl + " + blk / " + bl + ")", "(o3 * " + bl + " + blk % " + bl + ")"), st));
        }
    }

    private void trilu() {
        int r = shape.length;
        String k;
        if (!m.hasInput(1)) k = "0LL";
        else if (b.constant(m.input(1)) != null) k = Index.lit(b.constant(m.input(1)).getLong(0)) + "LL";
        else k = "(long long)" + p(1) + "[0]";
        boolean upper = m.attrInt("upper", 1) != 0;
        src.line("long long dd = (long long)o%d - (long long)o%d;", r - 1, r - 2);
        src.line("%s[i] = (dd %s %s) ? %s : %s;", out, upper ? ">=" : "<=", k, elem(0, "i"), CTypes.store(m.input(0).dtype(), "0"));
    }

    // ---- Resize: nearest and linear, per-axis index/weight tables computed here as the reference does ----

    private List<Integer> resized;
    private String mode;
    /** Tap tables (cubic, antialiased, exclude_outside): taps per output index of each resized axis. */
    private boolean tapped;
    private final java.util.Map<Integer, Integer> tapCount = new java.util.HashMap<>();

    private void resizeTables() {
        mode = m.attrString("mode", "nearest");
        String transform = m.attrString("coordinate_transformation_mode", "half_pixel");
        if (!mode.equals("nearest") && !mode.equals("linear") && !mode.equals("cubic"))
            throw m.error(new UnsupportedException("Resize mode '" + mode + "' has no GPU kernel"));
        if (transform.equals("tf_crop_and_resize")) throw m.error(new UnsupportedException("Resize tf_crop_and_resize has no GPU kernel yet"));
        boolean antialias = m.attrInt("antialias", 0) != 0 && !mode.equals("nearest");
        tapped = mode.equals("cubic") || antialias || m.attrInt("exclude_outside", 0) != 0;
        if (!m.attrString("keep_aspect_ratio_policy", "stretch").equals("stretch"))
            throw m.error(new UnsupportedException("Resize keep_aspect_ratio_policy other than stretch has no GPU kernel yet"));
        DType t = m.input(0).dtype();
        if ((mode.equals("linear") || tapped) && !t.isFloat())
            throw m.error(new UnsupportedException(mode + " Resize of " + t + " has no GPU kernel"));
        long[] s = in(0);
        double[] scale = scales(s);
        resized = new ArrayList<>();
        for (int a = 0; a < s.length; a++) {
            long inLen = s[a], outLen = shape[a];
            if (tapped) {   // even an unscaled axis: its taps decide (nearest with exclude_outside can zero it)
                if (tapTables(a, inLen, outLen, scale[a], CTypes.compute(t))) resized.add(a);
                continue;
            }
            if (s[a] == shape[a] && scale[a] == 1.0) continue;
            resized.add(a);
            long[] i0 = new long[(int) outLen], i1 = new long[(int) outLen];
            double[] w = new double[(int) outLen];
            String nearest = m.attrString("nearest_mode", "round_prefer_floor");
            double outWidth = scale[a] * inLen;
            for (int x = 0; x < outLen; x++) {
                double srcX = switch (transform) {
                    case "align_corners" -> outWidth == 1 ? 0 : x * (inLen - 1) / (outWidth - 1);
                    case "asymmetric" -> x / scale[a];
                    case "pytorch_half_pixel" -> outWidth == 1 ? -0.5 : (x + 0.5) / scale[a] - 0.5;
                    case "half_pixel_symmetric" -> inLen / 2.0 * (1 - outLen / outWidth) + (x + 0.5) / scale[a] - 0.5;
                    default -> (x + 0.5) / scale[a] - 0.5;
                };
                double floor = Math.floor(srcX), ratio = srcX == floor ? 1 : srcX - floor;
                long left = (long) (srcX - ratio);
                i0[x] = Math.clamp(left, 0, inLen - 1);
                i1[x] = Math.clamp(left + 1, 0, inLen - 1);
                if (mode.equals("nearest")) {
                    boolean right = ratio == 1 || switch (nearest) {
                        case "round_prefer_ceil" -> ratio >= 0.5;
                        case "floor" -> false;
                        case "ceil" -> true;
                        default -> ratio > 0.5;
                    };
                    i0[x] = right ? i1[x] : i0[x];
                } else w[x] = ratio;
            }
            table("int", "r" + a + "_i0", i0, null);
            if (mode.equals("linear")) {
                table("int", "r" + a + "_i1", i1, null);
                table(CTypes.compute(t), "r" + a + "_w", null, w);
            }
        }
    }

    /**
     * Taps of one axis exactly as the reference Resize (ir/ops/nn/Taps): coefficients at offsets from the left
     * neighbour, Keys' cubic kernel with cubic_coeff_a (stretched by the scale when antialiased, then
     * normalized), exclude_outside zeroing out-of-range taps and renormalizing, indices edge-clamped, zero
     * weights dropped. Tables {@code rA_ti}/{@code rA_tw} hold T taps per output index (padding has weight 0).
     * Returns false, emitting nothing, where the taps are the identity (each output reads its own index, weight 1).
     */
    private boolean tapTables(int a, long inLen, long outLen, double scale, String ct) {
        // the reference's own taps (ir/ops/nn/Taps): the kernel reads exactly what the interpreter computes
        dev.kiln.ir.ops.nn.Taps taps = dev.kiln.ir.ops.nn.Taps.of(m, inLen, outLen, scale, new double[] {0, 1});
        long[][] idx = new long[(int) outLen][];
        double[][] wt = new double[(int) outLen][];
        int most = 1;
        for (int x = 0; x < outLen; x++) {
            int[] ix = taps.index(x);
            idx[x] = new long[ix.length];
            for (int k = 0; k < ix.length; k++) idx[x][k] = ix[k];
            wt[x] = taps.weight(x);
            most = Math.max(most, ix.length);
        }
        boolean identity = inLen == outLen;
        for (int x = 0; x < outLen && identity; x++) identity = idx[x].length == 1 && idx[x][0] == x && wt[x][0] == 1.0;
        if (identity) return false;
        long[] ti = new long[(int) outLen * most];
        double[] tw = new double[(int) outLen * most];
        for (int x = 0; x < outLen; x++)
            for (int k = 0; k < idx[x].length; k++) {
                ti[x * most + k] = idx[x][k];
                tw[x * most + k] = wt[x][k];
            }
        tapCount.put(a, most);
        table("int", "r" + a + "_ti", ti, null);
        table(ct, "r" + a + "_tw", null, tw);
        return true;
    }



    private void table(String type, String name, long[] l, double[] d) {
        if (d != null) for (double x : d) if (!Double.isFinite(x)) { src.line(Literals.bitsArray(name, type.equals("double"), d)); return; }
        int n = l != null ? l.length : d.length;
        StringBuilder sb = new StringBuilder("static __device__ const " + type + " " + name + "[" + Math.max(1, n) + "] = {");
        for (int k = 0; k < n; k++) {
            if (k > 0) sb.append(", ");
            sb.append(l != null ? Long.toString(l[k]) : type.equals("double") ? Literals.doubleLiteral(d[k]) : ExprEmitter.floatLiteral(d[k]));
        }
        src.line(sb.append("};").toString());
    }

    /** Per-axis scales as the reference's plan computes them (scales input, or sizes / input sizes). */
    private double[] scales(long[] s) {
        double[] scale = new double[s.length];
        java.util.Arrays.fill(scale, 1.0);
        long[] ax = m.attrInts("axes");
        int[] axes = new int[ax == null ? s.length : ax.length];
        for (int k = 0; k < axes.length; k++) axes[k] = (int) norm(ax == null ? k : ax[k], s.length);
        Tensor sc = m.hasInput(2) ? b.constant(m.input(2)) : null, sz = m.hasInput(3) ? b.constant(m.input(3)) : null;
        if (m.hasInput(2) && sc == null || m.hasInput(3) && sz == null)
            throw m.error(new UnsupportedException("Resize scales/sizes must be constants for GPU code"));
        if (sc != null && sc.numel() > 0) for (int k = 0; k < axes.length; k++) scale[axes[k]] = sc.getDouble(k);
        else if (sz != null) for (int k = 0; k < axes.length; k++) scale[axes[k]] = (double) sz.getLong(k) / s[axes[k]];
        return scale;
    }

    private void resize() {
        long[] s = in(0), st = Index.strides(s);
        DType t = m.input(0).dtype();
        List<String> c = outCoords();
        if (tapped && resized.isEmpty()) { copy(dot(c, st)); return; }
        if (tapped) {
            String ct = CTypes.compute(t);
            src.line("%s acc = 0;", ct);
            List<CudaSource.Block> loops = new ArrayList<>();
            String w = "";
            for (int a : resized) {
                int nt = tapCount.get(a);
                loops.add(src.block("for (int t" + a + " = 0; t" + a + " < " + nt + "; t" + a + "++)"));
                String at = "o" + a + " * " + nt + " + t" + a;
                src.line("%s w%d = %sr%d_tw[%s];", ct, a, w.isEmpty() ? "" : w + " * ", a, at);
                w = "w" + a;
                c.set(a, "r" + a + "_ti[" + at + "]");
            }
            src.line("if (%s != 0) acc += %s * %s;", w, w, load(0, dot(c, st)));
            for (int j = loops.size() - 1; j >= 0; j--) loops.get(j).close();
            src.line("%s[i] = %s;", out, CTypes.store(t, "acc"));
            return;
        }
        if (mode.equals("nearest")) {
            for (int a : resized) c.set(a, "r" + a + "_i0[o" + a + "]");
            copy(dot(c, st));
            return;
        }
        String ct = CTypes.compute(t);
        src.line("%s acc = 0;", ct);
        try (var corners = src.block("for (int corner = 0; corner < " + (1 << resized.size()) + "; corner++)")) {
            src.line("%s w = 1;", ct);
            for (int j = 0; j < resized.size(); j++) {
                int a = resized.get(j);
                src.line("bool hi%d = (corner >> %d) & 1;", a, j);
                src.line("w *= hi%d ? r%d_w[o%d] : 1 - r%d_w[o%d];", a, a, a, a, a);
                c.set(a, "(hi" + a + " ? r" + a + "_i1[o" + a + "] : r" + a + "_i0[o" + a + "])");
            }
            src.line("acc += w * %s;", load(0, dot(c, st)));
        }
        src.line("%s[i] = %s;", out, CTypes.store(t, "acc"));
    }
}
