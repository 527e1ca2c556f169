package dev.kiln.passes;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * channels-last against the reference: random conv nets (plain, grouped and depthwise convs with and without
 * bias, [C,1,1] and [1,C,1,1] broadcasts, activations, residual adds, pools, channel concats, a squeeze-excite
 * scale, a global pool) compute the same after the pass plus fold-constants/simplify/dce; f32 rtol 1e-5, atol 1e-6.
 */
class ChannelsLastPassTest {
    private static final DType F = DType.F32;

    private static List<Pass> pipeline() {
        return List.of(new SpecializeShapes(Map.of(), Map.of()), new Canonicalize(), new ChannelsLast(), new FoldConstants(),
                new Simplify(), new EliminateDeadCode());
    }

    private static List<Pass> reference() {
        return List.of(new SpecializeShapes(Map.of(), Map.of()), new Canonicalize(), new FoldConstants(), new Simplify(), new EliminateDeadCode());
    }

    private static Value conv(Random r, GraphBuilder b, Value x, long c, long m, long group) {
        long k = 1 + 2L * r.nextInt(2), stride = 1 + r.nextInt(2);
        Value w = b.constant(RefCheck.random(r, F, new long[] {m, c / group, k, k}, -1, 1));
        Map<String, Attr> a = Map.of("group", Attr.of(group), "pads", Attr.ints(k / 2, k / 2, k / 2, k / 2), "strides", Attr.ints(stride, stride));
        return r.nextBoolean() ? b.op("Conv", a, x, w) : b.op("Conv", a, x, w, b.constant(RefCheck.random(r, F, new long[] {m}, -1, 1)));
    }

    @Property(tries = 60)
    void randomConvNetsComputeTheSame(@ForAll long seed) {
        Random r = new Random(seed);
        GraphBuilder b = new GraphBuilder("net");
        long c = 2 + 2L * r.nextInt(2);
        Value x = b.input("x", TensorType.of(F, 1 + r.nextInt(2), c, 5 + r.nextInt(3), 6));
        Value y = x;
        List<Value> outs = new ArrayList<>();
        for (int step = 0; step < 4; step++) {
            long ch = y.shape().sizes()[1];
            switch (r.nextInt(7)) {
                case 0 -> y = conv(r, b, y, ch, 2 + r.nextInt(3), 1);
                case 1 -> y = conv(r, b, y, ch, ch, ch); // depthwise
                case 2 -> { // residual: conv keeping the shape, then Add and Relu
                    Value w = b.constant(RefCheck.random(r, F, new long[] {ch, ch, 3, 3}, -1, 1));
                    Value z = b.op("Conv", Map.of("pads", Attr.ints(1, 1, 1, 1)), y, w);
                    y = b.op("Relu", b.op("Add", z, y));
                }
                case 3 -> y = b.op("Add", b.op("Mul", y, b.constant(RefCheck.random(r, F, r.nextBoolean() ? new long[] {ch, 1, 1} : new long[] {1, ch, 1, 1}, -1, 1))),
                        b.constant(RefCheck.random(r, F, new long[] {ch, 1, 1}, -1, 1)));
                case 4 -> y = r.nextBoolean()
                        ? b.op("MaxPool", Map.of("kernel_shape", Attr.ints(2, 2), "pads", Attr.ints(0, 0, 1, 1)), y)
                        : b.op("AveragePool", Map.of("kernel_shape", Attr.ints(3, 3), "pads", Attr.ints(1, 1, 1, 1), "strides", Attr.ints(2, 2)), y);
                case 5 -> y = b.op("Concat", Map.of("axis", Attr.of(1)), y, b.op("Sigmoid", y));
                default -> { // squeeze-excite: a per-channel scale computed from the tensor itself
                    Value s = b.op("Sigmoid", b.op("GlobalAveragePool", y));
                    y = b.op("Mul", y, s);
                }
            }
            if (r.nextInt(4) == 0) outs.add(y);
        }
        outs.add(b.op("GlobalAveragePool", y));
        for (Value o : outs) b.output(o);
        Graph g = b.build();
        Graph want = RefCheck.run(g, reference()), got = RefCheck.run(g, pipeline());
        RefCheck.assertSameSemantics(want, got, RefCheck.inputs(g, r));
        if (RefCheck.count(g, "Conv") >= ChannelsLast.MIN_CONVS)
            assertEquals(0, RefCheck.count(got, "Conv") + RefCheck.count(got, "MaxPool") + RefCheck.count(got, "AveragePool"), got.toString());
        else
            assertEquals(0, RefCheck.count(got, "NhwcConv") + RefCheck.count(got, "NhwcMaxPool") + RefCheck.count(got, "NhwcAveragePool"));
    }

    @Test void aResNetStyleChainHasATransposeOnlyAtEachEdge() {
        Random r = new Random(7);
        GraphBuilder b = new GraphBuilder("chain");
        Value y = b.input("x", TensorType.of(F, 1, 8, 8, 8));
        for (int i = 0; i < 3; i++) {
            Value w = b.constant(RefCheck.random(r, F, new long[] {8, 8, 3, 3}, -1, 1));
            y = b.op("Relu", b.op("Add", b.op("Conv", Map.of("pads", Attr.ints(1, 1, 1, 1)), y, w), y));
        }
        Graph got = RefCheck.run(b.output(b.op("GlobalAveragePool", y)).build(), pipeline());
        assertEquals(3, RefCheck.count(got, "NhwcConv"));
        assertEquals(2, RefCheck.count(got, "Transpose"), got.toString());
    }

    @Test void aConvNeXtBlockRunsWithoutTransposesInside() {
        // depthwise 7x7, Permute to NHWC, a channel MLP, Permute back, layer scale [C,1,1], residual add: twice
        Random r = new Random(11);
        GraphBuilder b = new GraphBuilder("convnext");
        long c = 8;
        Value y = b.input("x", TensorType.of(F, 1, c, 6, 6));
        for (int i = 0; i < 2; i++) {
            Value w = b.constant(RefCheck.random(r, F, new long[] {c, 1, 7, 7}, -1, 1));
            Value dw = b.op("Conv", Map.of("group", Attr.of(c), "pads", Attr.ints(3, 3, 3, 3)), y, w);
            Value t = b.op("Transpose", Map.of("perm", Attr.ints(0, 2, 3, 1)), dw);
            Value h = b.op("Relu", b.op("MatMul", t, b.constant(RefCheck.random(r, F, new long[] {c, 2 * c}, -1, 1))));
            Value m = b.op("MatMul", h, b.constant(RefCheck.random(r, F, new long[] {2 * c, c}, -1, 1)));
            Value back = b.op("Transpose", Map.of("perm", Attr.ints(0, 3, 1, 2)), m);
            y = b.op("Add", b.op("Mul", back, b.constant(RefCheck.random(r, F, new long[] {c, 1, 1}, -1, 1))), y);
        }
        Graph g = b.output(b.op("GlobalAveragePool", y)).build();
        Graph got = RefCheck.run(g, pipeline());
        RefCheck.assertSameSemantics(RefCheck.run(g, reference()), got, RefCheck.inputs(g, r));
        assertEquals(2, RefCheck.count(got, "Transpose"), got.toString()); // the image in, the last map out
    }

    @Test void graphsWithoutConvolutionsAreLeftAlone() {
        GraphBuilder b = new GraphBuilder("mlp");
        Value x = b.input("x", TensorType.of(F, 2, 3));
        Graph g = b.output(b.op("Relu", x)).build();
        assertSame(g, new ChannelsLast().run(g, new PassContext()));
    }

    @Test void aLoneConvStaysChannelsFirst() {
        GraphBuilder b = new GraphBuilder("patchify");
        Value x = b.input("x", TensorType.of(F, 1, 3, 8, 8));
        Value w = b.constant(RefCheck.random(new Random(3), F, new long[] {4, 3, 4, 4}, -1, 1));
        Graph g = b.output(b.op("Conv", Map.of("strides", Attr.ints(4, 4)), x, w)).build();
        assertSame(g, new ChannelsLast().run(g, new PassContext()));
    }

    @Test void f64AndThreeDimensionalConvsStayChannelsFirst() {
        GraphBuilder b = new GraphBuilder("other");
        Value x = b.input("x", TensorType.of(DType.F64, 1, 2, 4, 4));
        Value w = b.constant(RefCheck.random(new Random(1), DType.F64, new long[] {2, 2, 1, 1}, -1, 1));
        Value v = b.input("v", TensorType.of(F, 1, 2, 3, 3, 3));
        Value wv = b.constant(RefCheck.random(new Random(2), F, new long[] {2, 2, 1, 1, 1}, -1, 1));
        Graph g = b.output(b.op("Conv", x, w)).output(b.op("Conv", v, wv)).build();
        Graph got = RefCheck.run(g, pipeline());
        assertEquals(2, RefCheck.count(got, "Conv"));
        assertTrue(RefCheck.count(got, "NhwcConv") == 0);
    }
}
