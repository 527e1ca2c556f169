package dev.kiln.ir.ops.linalg;

import dev.kiln.ir.Dim;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.Shape;
import dev.kiln.ir.ShapeException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.op.Trait;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;

/**
 * Einsum: a parsed equation over labels. Letters are labels; "..." stands for broadcast axes, which become
 * labels numbered 0..E-1 (E = the widest ellipsis among the operands, right-aligned). Without "->" the output
 * is the ellipsis axes followed by the letters used exactly once, in alphabetical order. A label repeated in
 * one operand reads its diagonal; labels absent from the output are summed.
 */
public final class Einsum {
    /** Ellipsis axes are labels below 'A'; letters keep their char code. */
    private static final int ELLIPSIS = -1;

    /** @param inputs per operand, its labels (ELLIPSIS marks where "..." stands); output likewise */
    record Equation(List<int[]> inputs, int[] output, boolean outputEllipsis) {}

    private Einsum() {}

    public static void register(OpRegistry.Builder r) {
        r.add(OpDef.op("Einsum").traits(Trait.REDUCTION).inputs(1, OpDef.VARIADIC).outputs(1)
                .check(n -> {
                    String eq = n.attrString("equation", null);
                    if (eq == null) throw n.missing("equation");
                    Equation e = parse(eq, n);
                    if (e.inputs.size() != n.inputs().size())
                        throw n.error(new InvalidModelException("equation '" + eq + "' has " + e.inputs.size()
                                + " operands but the node has " + n.inputs().size() + " inputs"));
                })
                .infer(c -> {
                    Equation e = parse(c.node().attrString("equation", ""), c.node());
                    var dt = c.inputType(0).dtype();
                    List<Shape> shapes = new ArrayList<>();
                    for (int i = 0; i < c.numInputs(); i++) {
                        TensorType t = c.inputType(i);
                        if (t.dtype() != dt) throw c.error("Einsum operands differ in dtype: " + dt + " and " + t.dtype());
                        if (!dt.isFloat() && !dt.isInteger()) throw c.error("Einsum needs numeric operands, got " + t);
                        shapes.add(t.shape());
                    }
                    return List.of(new TensorType(dt, outShape(e, shapes, c.node())));
                })
                .eval(c -> {
                    Tensor[] in = new Tensor[c.numInputs()];
                    for (int i = 0; i < in.length; i++) in[i] = c.input(i);
                    return List.of(eval(parse(c.node().attrString("equation", ""), c.node()), in, c.node()));
                }));
    }

    static Equation parse(String equation, dev.kiln.ir.Node n) {
        String eq = equation.replace(" ", "");
        int arrow = eq.indexOf("->");
        String lhs = arrow < 0 ? eq : eq.substring(0, arrow);
        List<int[]> ins = new ArrayList<>();
        for (String term : lhs.split(",", -1)) ins.add(term(term, equation, n));
        int[] out;
        if (arrow >= 0) {
            out = term(eq.substring(arrow + 2), equation, n);
            for (int l : out) {
                if (l == ELLIPSIS) continue;
                if (ins.stream().noneMatch(t -> Arrays.stream(t).anyMatch(x -> x == l)))
                    throw bad(n, equation, "output label '" + (char) l + "' appears in no operand");
                if (Arrays.stream(out).filter(x -> x == l).count() > 1)
                    throw bad(n, equation, "output label '" + (char) l + "' repeats");
            }
        } else {
            int[] count = new int[128];
            boolean ell = false;
            for (int[] t : ins) for (int l : t) if (l == ELLIPSIS) ell = true; else count[l]++;
            List<Integer> o = new ArrayList<>();
            if (ell) o.add(ELLIPSIS);
            for (int l = 0; l < 128; l++) if (count[l] == 1) o.add(l);
            out = o.stream().mapToInt(Integer::intValue).toArray();
        }
        return new Equation(ins, out, Arrays.stream(out).anyMatch(x -> x == ELLIPSIS));
    }

    private static int[] term(String t, String equation, dev.kiln.ir.Node n) {
        List<Integer> labels = new ArrayList<>();
        boolean ell = false;
        for (int i = 0; i < t.length(); i++) {
            char ch = t.charAt(i);
            if (ch == '.') {
                if (ell || !t.startsWith("...", i)) throw bad(n, equation, "malformed ellipsis in '" + t + "'");
                ell = true;
                labels.add(ELLIPSIS);
                i += 2;
            } else if (Character.isLetter(ch) && ch < 128) labels.add((int) ch);
            else throw bad(n, equation, "unexpected character '" + ch + "'");
        }
        return labels.stream().mapToInt(Integer::intValue).toArray();
    }

    private static InvalidModelException bad(dev.kiln.ir.Node n, String eq, String why) {
        return n.error(new InvalidModelException("bad Einsum equation '" + eq + "': " + why));
    }

    /** Expands each operand's labels to one per axis: ellipsis axes become labels 0..E-1, right-aligned. */
    private static int[][] axisLabels(Equation e, int[] ranks, dev.kiln.ir.Node n) {
        int[][] r = new int[ranks.length][];
        int width = ellipsisWidth(e, ranks, n);
        for (int i = 0; i < ranks.length; i++) {
            int[] t = e.inputs.get(i);
            boolean ell = Arrays.stream(t).anyMatch(x -> x == ELLIPSIS);
            int letters = t.length - (ell ? 1 : 0);
            int ew = ell ? ranks[i] - letters : 0;
            if (ew < 0 || (!ell && ranks[i] != letters))
                throw n.error(new ShapeException("Einsum operand " + i + " has rank " + ranks[i] + " but its term has " + letters + " labels"));
            int[] ax = new int[ranks[i]];
            int k = 0;
            for (int l : t) {
                if (l == ELLIPSIS) for (int j = 0; j < ew; j++) ax[k++] = width - ew + j;
                else ax[k++] = l;
            }
            r[i] = ax;
        }
        return r;
    }

    private static int ellipsisWidth(Equation e, int[] ranks, dev.kiln.ir.Node n) {
        int w = 0;
        for (int i = 0; i < ranks.length; i++) {
            int[] t = e.inputs.get(i);
            if (Arrays.stream(t).anyMatch(x -> x == ELLIPSIS)) w = Math.max(w, ranks[i] - (t.length - 1));
        }
        return w;
    }

    private static int[] outLabels(Equation e, int width) {
        List<Integer> o = new ArrayList<>();
        for (int l : e.output) if (l == ELLIPSIS) for (int j = 0; j < width; j++) o.add(j); else o.add(l);
        return o.stream().mapToInt(Integer::intValue).toArray();
    }

    static Shape outShape(Equation e, List<Shape> shapes, dev.kiln.ir.Node n) {
        if (shapes.stream().anyMatch(s -> !s.ranked())) {
            if (e.outputEllipsis) return Shape.UNRANKED;
            return Shape.unknown(e.output.length);
        }
        int[] ranks = shapes.stream().mapToInt(Shape::rank).toArray();
        int[][] ax = axisLabels(e, ranks, n);
        Dim[] size = new Dim[128];
        for (int i = 0; i < ax.length; i++)
            for (int a = 0; a < ax[i].length; a++) {
                int l = ax[i][a];
                Dim d = shapes.get(i).dim(a), prev = size[l];
                if (prev == null || prev.isStatic() && prev.size() == 1 && l < 'A') size[l] = d;
                else if (d.isStatic() && prev.isStatic() && d.size() != prev.size() && !(l < 'A' && d.size() == 1))
                    throw n.error(new ShapeException("Einsum label '" + label(l) + "' has sizes " + prev + " and " + d));
                else if (!prev.isStatic() && d.isStatic() && !(l < 'A' && d.size() == 1)) size[l] = d;
            }
        int[] out = outLabels(e, ellipsisWidth(e, ranks, n));
        List<Dim> dims = new ArrayList<>();
        for (int l : out) dims.add(size[l]);
        return Shape.of(dims);
    }

    private static String label(int l) { return l < 'A' ? "...(" + l + ")" : String.valueOf((char) l); }

    /** Sums the product of the operands over every assignment of the labels (exact for integers). */
    static Tensor eval(Equation e, Tensor[] in, dev.kiln.ir.Node n) {
        int[] ranks = Arrays.stream(in).mapToInt(Tensor::rank).toArray();
        int[][] ax = axisLabels(e, ranks, n);
        long[] size = new long[128];
        Arrays.fill(size, -1);
        for (int i = 0; i < ax.length; i++)
            for (int a = 0; a < ax[i].length; a++) {
                int l = ax[i][a];
                long d = in[i].dim(a);
                if (size[l] < 0 || size[l] == 1 && l < 'A') size[l] = d;
                else if (d != size[l] && !(l < 'A' && d == 1))
                    throw n.error(new ShapeException("Einsum label '" + label(l) + "' has sizes " + size[l] + " and " + d));
            }
        int[] out = outLabels(e, ellipsisWidth(e, ranks, n));
        TreeSet<Integer> summed = new TreeSet<>();
        for (int[] a : ax) for (int l : a) summed.add(l);
        for (int l : out) summed.remove(l);
        int[] loop = new int[out.length + summed.size()];
        System.arraycopy(out, 0, loop, 0, out.length);
        int k = out.length;
        for (int l : summed) loop[k++] = l;
        long[] outShape = new long[out.length];
        for (int i = 0; i < out.length; i++) outShape[i] = size[out[i]];
        long[] loopSizes = Arrays.stream(loop).mapToLong(l -> size[l]).toArray();
        // per operand and loop label, the element stride that label contributes (0 where broadcast or absent)
        long[][] stride = new long[in.length][loop.length];
        for (int i = 0; i < in.length; i++) {
            long[] st = dev.kiln.ir.op.Shapes.strides(in[i].shape());
            for (int a = 0; a < ax[i].length; a++) {
                if (in[i].dim(a) == 1 && size[ax[i][a]] != 1) continue;
                for (int j = 0; j < loop.length; j++) if (loop[j] == ax[i][a]) stride[i][j] += st[a];
            }
        }
        boolean isFloat = in[0].dtype().isFloat();
        double[][] dv = new double[in.length][];
        long[][] lv = new long[in.length][];
        for (int i = 0; i < in.length; i++) if (isFloat) dv[i] = in[i].toDoubles(); else lv[i] = in[i].toLongs();
        int outN = (int) Tensor.numel(outShape);
        long inner = Tensor.numel(Arrays.copyOfRange(loopSizes, out.length, loop.length));
        double[] rd = new double[outN];
        long[] rl = new long[outN];
        int[] counter = new int[loop.length];
        long[] pos = new long[in.length];
        for (int o = 0; o < outN; o++) {
            double sd = 0;
            long sl = 0;
            for (long s = 0; s < inner; s++) {
                if (isFloat) {
                    double p = 1;
                    for (int i = 0; i < in.length; i++) p *= dv[i][(int) pos[i]];
                    sd += p;
                } else {
                    long p = 1;
                    for (int i = 0; i < in.length; i++) p *= lv[i][(int) pos[i]];
                    sl += p;
                }
                advance(counter, loopSizes, stride, pos);
            }
            rd[o] = sd;
            rl[o] = sl;
        }
        return isFloat ? Tensor.ofDoubles(in[0].dtype(), outShape, rd) : Tensor.ofLongs(in[0].dtype(), outShape, rl);
    }

    private static void advance(int[] counter, long[] sizes, long[][] stride, long[] pos) {
        for (int j = counter.length - 1; j >= 0; j--) {
            counter[j]++;
            for (int i = 0; i < pos.length; i++) pos[i] += stride[i][j];
            if (counter[j] < sizes[j]) return;
            for (int i = 0; i < pos.length; i++) pos[i] -= stride[i][j] * counter[j];
            counter[j] = 0;
        }
    }
}
