package dev.kiln.ir.text;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * Random well-formed graphs for the round-trip property: random op names and arities, every attribute kind,
 * every dtype, symbolic and unknown dims, names that need quoting, tensors with arbitrary storage bits
 * (NaN payloads, non-canonical bools and sub-byte ints), small and large, and nested subgraphs.
 */
final class RandomGraphs {
    private static final String[] OPS = {"Add", "MatMul", "com.microsoft.FusedGemm", "graph", "none", "loc",
            "ints", "weird op", "", "_x.y", "dense"};
    private static final String[] NAME_STEMS = {"v", "/layer.0/Add_output_", "onnx::Mul_", "12", "none", "a\"b\\",
            "tab\tnew\nline", "\u00e9t\u00e9", "x.y$", "\ud83d\ude00", "inf", "-"};
    private static final String[] SYMS = {"N", "batch size", "?", "inf", "x.y", "seq_len", "*", "\u00e9"};

    private final Random r;
    private int counter;

    private RandomGraphs(Random r) { this.r = r; }

    static Graph graph(Random r) { return new RandomGraphs(r).graph(new ArrayList<>(), 0); }

    private Graph graph(List<Value> outer, int depth) {
        List<Value> visible = new ArrayList<>(outer);
        List<Value> inputs = new ArrayList<>();
        for (int i = r.nextInt(4); i > 0; i--) inputs.add(fresh());
        visible.addAll(inputs);
        List<Node> nodes = new ArrayList<>();
        for (int i = r.nextInt(depth == 0 ? 7 : 3); i > 0; i--) {
            Node n = node(visible, depth);
            nodes.add(n);
            for (Value o : n.outputs()) if (!o.isNone()) visible.add(o);
        }
        List<Value> outputs = new ArrayList<>();
        for (int i = r.nextInt(4); i > 0; i--)
            outputs.add(visible.isEmpty() || r.nextInt(10) == 0 ? Value.NONE : visible.get(r.nextInt(visible.size())));
        return new Graph(r.nextInt(5) == 0 ? str() : "g" + counter++, inputs, nodes, outputs);
    }

    private Node node(List<Value> visible, int depth) {
        List<Value> in = new ArrayList<>();
        for (int i = r.nextInt(4); i > 0; i--)
            in.add(visible.isEmpty() || r.nextInt(6) == 0 ? Value.NONE : visible.get(r.nextInt(visible.size())));
        List<Value> out = new ArrayList<>();
        for (int i = r.nextInt(4); i > 0; i--) out.add(r.nextInt(6) == 0 ? Value.NONE : fresh());
        Map<String, Attr> attrs = new TreeMap<>();
        for (int i = r.nextInt(5); i > 0; i--) attrs.put(r.nextBoolean() ? "a" + r.nextInt(9) : str(), attr(visible, depth));
        String op = r.nextInt(4) == 0 ? str() : OPS[r.nextInt(OPS.length)];
        return Node.of(op, in, out, attrs, r.nextInt(3) == 0 ? str() : "");
    }

    private Attr attr(List<Value> visible, int depth) {
        return switch (r.nextInt(depth < 2 ? 8 : 7)) {
            case 0 -> Attr.of(r.nextInt(3) == 0 ? r.nextLong() : r.nextInt(200) - 100);
            case 1 -> Attr.of(dbl());
            case 2 -> Attr.of(str());
            case 3 -> Attr.ints(r.longs(r.nextInt(4)).toArray());
            case 4 -> Attr.floats(r.nextInt(4) == 0 ? new double[0] : dbls());
            case 5 -> Attr.strings(java.util.stream.Stream.generate(this::str).limit(r.nextInt(4)).toList());
            case 6 -> Attr.of(tensor());
            default -> new Attr.GraphValue(graph(visible, depth + 1));
        };
    }

    private double[] dbls() {
        double[] d = new double[1 + r.nextInt(3)];
        for (int i = 0; i < d.length; i++) d[i] = dbl();
        return d;
    }

    private double dbl() {
        return switch (r.nextInt(8)) {
            case 0 -> Double.NaN;
            case 1 -> r.nextBoolean() ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
            case 2 -> -0.0;
            case 3 -> (float) r.nextGaussian();
            case 4 -> Double.longBitsToDouble(r.nextLong());
            default -> r.nextGaussian() * Math.pow(10, r.nextInt(40) - 20);
        };
    }

    private Tensor tensor() {
        DType d = DType.values()[r.nextInt(DType.values().length)];
        int rank = r.nextInt(4);
        long[] shape = new long[rank];
        for (int i = 0; i < rank; i++) shape[i] = r.nextInt(rank == 1 ? 40 : 5);
        int n = (int) Tensor.numel(shape);
        if (d.isString()) {
            String[] s = new String[n];
            for (int i = 0; i < n; i++) s[i] = str();
            return Tensor.ofStrings(shape, s);
        }
        if (r.nextBoolean()) {
            double[] v = new double[n];
            for (int i = 0; i < n; i++) v[i] = r.nextInt(4) == 0 ? dbl() : r.nextInt(20) - 5;
            return Tensor.ofDoubles(d, shape, v);
        }
        byte[] b = new byte[n * d.storageBytes()];
        r.nextBytes(b);
        return Tensor.ofBytes(d, shape, b); // arbitrary storage bits, canonical or not
    }

    private Value fresh() { return new Value(name(), type()); }

    private String name() {
        return NAME_STEMS[r.nextInt(NAME_STEMS.length)] + counter++;
    }

    private TensorType type() {
        DType d = DType.values()[r.nextInt(DType.values().length)];
        if (r.nextInt(8) == 0) return new TensorType(d, Shape.UNRANKED);
        List<Dim> dims = new ArrayList<>();
        for (int i = r.nextInt(4); i > 0; i--)
            dims.add(r.nextBoolean() ? Dim.of(r.nextInt(3) == 0 ? r.nextLong() & Long.MAX_VALUE : r.nextInt(10))
                    : Dim.sym(SYMS[r.nextInt(SYMS.length)]));
        return new TensorType(d, Shape.of(dims));
    }

    /** A short string mixing plain ASCII, quotes, escapes, control characters, non-ASCII and lone surrogates. */
    private String str() {
        StringBuilder b = new StringBuilder();
        for (int i = r.nextInt(6); i > 0; i--) {
            b.append(switch (r.nextInt(6)) {
                case 0 -> (char) (0x20 + r.nextInt(0x5F));
                case 1 -> "\"\\".charAt(r.nextInt(2));
                case 2 -> (char) r.nextInt(0x20);
                case 3 -> (char) (0x80 + r.nextInt(0x2000));
                case 4 -> (char) (0xD800 + r.nextInt(0x800));
                default -> (char) ('a' + r.nextInt(26));
            });
        }
        return b.toString();
    }
}
