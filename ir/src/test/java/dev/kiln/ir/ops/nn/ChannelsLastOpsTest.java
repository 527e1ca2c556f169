package dev.kiln.ir.ops.nn;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.ShapeException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static dev.kiln.ir.ops.nn.Nn.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The channels-last ops against their channels-first definitions, computed independently on permuted data. */
class ChannelsLastOpsTest {
    private static Tensor random(long[] shape, long seed) {
        Random r = new Random(seed);
        double[] v = new double[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = Math.round(r.nextGaussian() * 64) / 64.0;
        return Tensor.ofDoubles(DType.F32, shape, v);
    }

    private static void assertSame(Tensor want, Tensor got) {
        assertArrayEquals(want.shape(), got.shape(), "shape");
        double[] w = want.toDoubles(), g = got.toDoubles();
        for (int i = 0; i < w.length; i++) assertEquals(w[i], g[i], 1e-6 + 1e-6 * Math.abs(w[i]), "element " + i);
    }

    private static Tensor last(Tensor t) { return ChannelsLastOps.permute(t, ChannelsLastOps.toLast(t.rank())); }

    @Test void permutationsAreInverse() {
        assertArrayEquals(new long[] {0, 3, 1, 2}, ChannelsLastOps.toFirst(4));
        assertArrayEquals(new long[] {0, 2, 3, 1}, ChannelsLastOps.toLast(4));
        Tensor x = random(shape(2, 3, 4, 5), 1);
        assertSame(x, ChannelsLastOps.permute(last(x), ChannelsLastOps.toFirst(4)));
        // [N,C,H,W] -> [N,H,W,C]: element (n,c,h,w) lands at (n,h,w,c)
        assertEquals(x.getDouble(((1 * 3 + 2) * 4 + 3) * 5 + 4), last(x).getDouble(((1 * 4 + 3) * 5 + 4) * 3 + 2));
    }

    @Test void nhwcConvIsConvOnPermutedTensors() {
        Map<String, Attr> attrs = Map.of("pads", Attr.ints(1, 0, 2, 1), "strides", Attr.ints(2, 1), "dilations", Attr.ints(1, 2));
        Tensor x = random(shape(2, 5, 7, 6), 2), w = random(shape(4, 5, 3, 2), 3), b = random(shape(4), 4);
        Tensor want = run1("Conv", attrs, x, w, b);
        assertSame(last(want), run1("NhwcConv", attrs, last(x), last(w), b));
    }

    @Test void depthwiseAndGroupedNhwcConv() {
        Tensor x = random(shape(1, 6, 5, 5), 5);
        for (long g : new long[] {6, 3, 2}) {
            Map<String, Attr> attrs = Map.of("group", Attr.of(g), "pads", Attr.ints(1, 1, 1, 1));
            Tensor w = random(shape(6, 6 / g, 3, 3), 6 + g);
            assertSame(last(run1("Conv", attrs, x, w)), run1("NhwcConv", attrs, last(x), last(w)));
        }
    }

    @Test void nhwcPoolsArePoolsOnPermutedTensors() {
        Tensor x = random(shape(2, 3, 7, 7), 7);
        Map<String, Attr> max = Map.of("kernel_shape", Attr.ints(3, 3), "strides", Attr.ints(2, 2), "pads", Attr.ints(1, 1, 1, 1));
        assertSame(last(run1("MaxPool", max, x)), run1("NhwcMaxPool", max, last(x)));
        Map<String, Attr> avg = Map.of("kernel_shape", Attr.ints(2, 3), "pads", Attr.ints(0, 1, 1, 1), "count_include_pad", Attr.of(1));
        assertSame(last(run1("AveragePool", avg, x)), run1("NhwcAveragePool", avg, last(x)));
    }

    @Test void shapesAreInferredChannelsLast() {
        List<TensorType> t = infer("NhwcConv", Map.of("strides", Attr.ints(2, 2), "pads", Attr.ints(3, 3, 3, 3)), 1,
                List.of(type(1, 224, 224, 3), type(64, 7, 7, 3)));
        assertEquals(type(1, 112, 112, 64), t.get(0));
        assertEquals(type("N", 56, 56, 64), infer("NhwcMaxPool", Map.of("kernel_shape", Attr.ints(3, 3), "strides", Attr.ints(2, 2),
                "pads", Attr.ints(1, 1, 1, 1)), 1, List.of(type("N", 112, 112, 64))).get(0));
    }

    @Test void mismatchedChannelsNameBothShapes() {
        var e = assertThrows(ShapeException.class, () -> infer("NhwcConv", Map.of(), 1, List.of(type(1, 8, 8, 3), type(4, 3, 3, 5))));
        assertEquals(true, e.getMessage().contains("channels"), e.getMessage());
    }
}
