package dev.kiln.passes;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Value;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.op.Trait;
import dev.kiln.ir.ops.nn.ChannelsLastOps;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * channels-last: {@code Conv(x, w, b) -> Transpose(NhwcConv(Transpose(x, toLast), Transpose(w, toLast), b), toFirst)},
 * likewise MaxPool/AveragePool, for 2-D (rank-4) f16/bf16/f32 tensors of static shape; the channels-last result is
 * then carried through the elementwise ops after it (their other operands moved to channels-last too: a constant
 * {@code [C,1,1]} bias becomes {@code [1,1,1,C]}) and Concat on the channel axis, so a chain of convolutions, its
 * activations and residual adds runs NHWC end to end with one Transpose where the chain meets an op that wants
 * channels-first (the input image, the global average pool). Every channels-last value also gets its channels-first
 * Transpose, used by whatever still reads it that way; the unused ones are left to eliminate-dead-code.
 * A single-group Conv on fewer than 8 channels read channels-first (the RGB stem on the image) gets them padded with zeros to 8, in the input
 * and in the weight, which changes no result and makes each filter tap one 16-byte load.
 * A graph with fewer than two such Convs is left as it is (a ViT's one patch embedding would only gain Transposes).
 * <p>Why: an NHWC tensor has a filter tap's channels contiguous, so implicit-GEMM convolutions load 16 bytes at a
 * time and depthwise kernels vectorise over channels. After canonicalize (one op form, BatchNorms folded or
 * decomposed) and before fold-constants, which folds the weight Transposes into re-laid-out constants, and before
 * simplify, which cancels a Transpose of a Transpose.
 */
public final class ChannelsLast implements Pass {
    public static final String NAME = "channels-last";
    private static final OpRegistry OPS = OpRegistry.standard();
    /** Channels of 16 bytes in f16: a single-group conv on fewer input channels (an RGB image) is padded up to this. */
    static final long PADDED_CHANNELS = 8;
    /** Graphs with fewer convolutions stay channels-first. */
    static final int MIN_CONVS = 2;

    @Override public String name() { return NAME; }

    @Override public Set<Property> requires() { return Set.of(Property.CANONICAL, Property.STATIC_SHAPES); }

    @Override public Set<Property> invalidates() { return Set.of(Property.CONSTANTS_FOLDED); }

    @Override public Graph run(Graph g, PassContext ctx) {
        // one lone conv (a ViT patch embedding) gains nothing and would pay two Transposes
        if (g.nodes().count(n -> n.op().equals("Conv") && convertible(n)) < MIN_CONVS) return g;
        return new Walk(g, ctx).run();
    }

    /** A Conv/MaxPool/AveragePool this pass rewrites: rank 4, static, f16/bf16/f32, one output. */
    static boolean convertible(Node n) {
        boolean oneOutput = n.outputs().size() == 1 || n.outputs().size() == 2 && n.output(1).isNone(); // MaxPool's Indices unused
        if (ChannelsLastOps.channelsLast(n.op()) == null || !oneOutput) return false;
        Value x = n.input(0), y = n.output(0);
        DType t = x.dtype();
        return (t == DType.F16 || t == DType.BF16 || t == DType.F32) && x.shape().isStatic() && x.shape().rank() == 4 && y.shape().isStatic()
                && (!n.op().equals("Conv") || n.input(1).shape().isStatic());
    }

    private static final class Walk {
        final Graph g;
        final PassContext ctx;
        final Emitter e;
        /** Old value name -> the new channels-last value holding it. */
        final Map<String, Value> last = new HashMap<>();

        Walk(Graph g, PassContext ctx) {
            this.g = g;
            this.ctx = ctx;
            this.e = new Emitter(g);
        }

        Graph run() {
            for (Node n : g.nodes()) {
                if (convertible(n)) convert(n);
                else if (carries(n)) carry(n);
                else {
                    e.copy(n);
                    if (isToFirst(n) && !n.output(0).isNone()) last.putIfAbsent(n.output(0).name(), e.get(n.input(0)));
                }
            }
            return e.finish();
        }

        void convert(Node n) {
            List<Value> in = new ArrayList<>();
            boolean stem = !last.containsKey(n.input(0).name()); // its input comes channels-first: the image
            in.add(lastOf(n.input(0)));
            if (n.op().equals("Conv")) {
                in.add(e.op("Transpose", Map.of("perm", Attr.ints(ChannelsLastOps.toLast(4))), n.origin(), e.get(n.input(1))));
                long c = n.input(0).shape().sizes()[1];
                if (stem && n.attrInt("group", 1) == 1 && c < PADDED_CHANNELS) {
                    // an RGB stem: zero channels up to 8 in the input and the weight, so a filter tap is one 16-byte load
                    Value pads = e.longs(0, 0, 0, 0, 0, 0, 0, PADDED_CHANNELS - c);
                    in.set(0, e.op("Pad", Map.of(), n.origin(), in.get(0), pads));
                    in.set(1, e.op("Pad", Map.of(), n.origin(), in.get(1), pads));
                    ctx.count("stem channels padded to " + PADDED_CHANNELS);
                }
                if (n.inputs().size() > 2) in.add(e.get(n.input(2)));
            }
            Value y = e.op(ChannelsLastOps.channelsLast(n.op()), n.attrs().castToSortedMap(), n.origin(), in.toArray(Value[]::new));
            publish(n, y);
            ctx.count(n.op() + " to " + ChannelsLastOps.channelsLast(n.op()));
        }

        /** Records {@code y} as the channels-last form of n's output and binds the channels-first Transpose to it. */
        void publish(Node n, Value y) {
            last.put(n.output(0).name(), y);
            e.bind(n, 0, e.op("Transpose", Map.of("perm", Attr.ints(ChannelsLastOps.toFirst(4))), n.origin(), y));
        }

        /**
         * A model's own {@code Transpose perm=[0,3,1,2]} (ConvNeXt's Permute back after its channels-last MLP): its
         * input is already the channels-last form of its result, so what follows is carried without a Transpose.
         */
        static boolean isToFirst(Node n) {
            return n.op().equals("Transpose") && n.input(0).shape().isStatic() && n.input(0).shape().rank() == 4
                    && java.util.Arrays.equals(n.attrInts("perm"), ChannelsLastOps.toFirst(4));
        }

        /** An elementwise op or a channel Concat, of rank 4, with at least one input already channels-last. */
        boolean carries(Node n) {
            if (n.outputs().size() != 1 || !n.output(0).shape().isStatic() || n.output(0).shape().rank() != 4) return false;
            if (n.inputs().noneSatisfy(v -> !v.isNone() && last.containsKey(v.name()))) return false;
            if (n.op().equals("Concat")) return n.inputs().allSatisfy(v -> v.shape().rank() == 4);
            OpDef d = OPS.contains(n.op()) ? OPS.get(n.op()) : null;
            return d != null && d.has(Trait.ELEMENTWISE) && n.inputs().allSatisfy(v -> v.isNone() || v.shape().isStatic() && v.shape().rank() <= 4);
        }

        void carry(Node n) {
            List<Value> in = new ArrayList<>();
            for (Value v : n.inputs()) in.add(v.isNone() ? Value.NONE : v.shape().rank() == 0 ? e.get(v) : broadcastLast(v));
            Map<String, Attr> attrs = n.attrs().castToSortedMap();
            if (n.op().equals("Concat")) {
                long axis = Math.floorMod(n.attrInt("axis", 0), 4);
                attrs = new HashMap<>(attrs);
                attrs.put("axis", Attr.of(axis == 0 ? 0 : axis == 1 ? 3 : axis - 1));
            }
            publish(n, e.op(n.op(), attrs, n.origin(), in.toArray(Value[]::new)));
            ctx.count("ops carried channels-last");
        }

        /** The channels-last form of a rank-4 value: the recorded one, or one Transpose of it (kept for reuse). */
        Value lastOf(Value v) {
            Value l = last.get(v.name());
            if (l == null) {
                l = e.op("Transpose", Map.of("perm", Attr.ints(ChannelsLastOps.toLast(4))), "", e.get(v));
                last.put(v.name(), l);
            }
            return l;
        }

        /**
         * An operand of a carried op, broadcastable to the channels-last result: a lower rank (numpy-aligned to the
         * right: {@code [C,1,1]}) first gets leading ones; moving the channel axis to the end is then a Reshape when
         * it keeps the element order (a {@code [1,1,1,C]} bias, a {@code [N,C,1,1]} squeeze-excite scale: free),
         * else a Transpose ({@link #lastOf}, recorded for reuse).
         */
        Value broadcastLast(Value v) {
            long[] s = v.shape().sizes(), four = new long[4];
            if (last.containsKey(v.name())) return last.get(v.name());
            java.util.Arrays.fill(four, 1);
            System.arraycopy(s, 0, four, 4 - s.length, s.length);
            long[] perm = ChannelsLastOps.toLast(4), moved = new long[4];
            for (int a = 0; a < 4; a++) moved[a] = four[(int) perm[a]];
            boolean keepsOrder = four[1] == 1 || four[2] == 1 && four[3] == 1;
            if (keepsOrder) return e.op("Reshape", Map.of(), "", e.get(v), e.longs(moved));
            if (s.length == 4) return lastOf(v);
            Value padded = e.op("Reshape", Map.of(), "", e.get(v), e.longs(four));
            return e.op("Transpose", Map.of("perm", Attr.ints(perm)), "", padded);
        }
    }
}
