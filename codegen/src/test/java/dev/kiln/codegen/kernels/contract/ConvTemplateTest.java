package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.KernelSpec;
import dev.kiln.ir.Attr;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.TensorType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.kiln.codegen.kernels.contract.Fixtures.ints;
import static dev.kiln.codegen.kernels.contract.Fixtures.type;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConvTemplateTest {
    private final ConvTemplate t = new ConvTemplate();

    /** attrs as {@code name=v,v;name=v}; string values for auto_pad. */
    static Map<String, Attr> attrs(String spec) {
        Map<String, Attr> m = new HashMap<>();
        if (spec == null || spec.isBlank()) return m;
        for (String kv : spec.split(";")) {
            String[] p = kv.split("=");
            String k = p[0].trim();
            if (k.equals("auto_pad")) m.put(k, Attr.of(p[1].trim()));
            else if (k.equals("group")) m.put(k, Attr.of(Long.parseLong(p[1].trim())));
            else m.put(k, ints(p[1]));
        }
        return m;
    }

    // Output shapes worked out by hand: out = floor((in + pads - dilation*(k-1) - 1) / stride) + 1,
    // SAME: ceil(in / stride); ConvTranspose: stride*(in-1) + output_padding + dilation*(k-1) + 1 - pads.
    @ParameterizedTest(name = "{0} {1} {2}*{3} -> {5} [{6}]")
    @CsvSource(delimiter = '|', value = {
            "Conv | f32 | 1x3x9x11 | 8x3x3x3 | true | 1x8x9x11 | pads=1,1,1,1",
            "Conv | f32 | 2x4x17x13 | 6x4x3x2 | false | 2x6x7x4 | strides=2,3;dilations=2,1",
            "Conv | f32 | 1x8x10x10 | 8x1x3x3 | true | 1x8x5x5 | group=8;strides=2,2;auto_pad=SAME_UPPER",
            "Conv | f32 | 2x6x7 | 4x3x3 | true | 2x4x5 | group=2",
            "Conv | f32 | 1x2x5x6x7 | 3x2x2x3x3 | false | 1x3x4x6x7 | pads=0,1,1,0,1,1",
            "Conv | f16 | 1x16x15x15 | 32x16x3x3 | true | 1x32x15x15 | auto_pad=SAME_LOWER",
            "Conv | bf16 | 3x4x9x9 | 4x2x1x1 | false | 3x4x9x9 | group=2",
            "Conv | f64 | 1x1x5x5 | 1x1x5x5 | true | 1x1x1x1 | auto_pad=VALID",
            "ConvTranspose | f32 | 1x4x5x5 | 4x3x3x3 | true | 1x3x9x9 | strides=2,2;pads=1,1,1,1",
            "ConvTranspose | f32 | 1x4x5x5 | 4x2x3x3 | false | 1x4x9x9 | strides=2,2;pads=1,1,1,1;group=2",
            "ConvTranspose | f32 | 1x4x5x5 | 4x3x3x3 | false | 1x3x10x10 | strides=2,2;output_shape=10,10",
            "ConvTranspose | f16 | 2x3x7 | 3x5x4 | true | 2x5x16 | strides=2;output_padding=1;dilations=1",
            "ConvTranspose | f32 | 1x2x3x3x3 | 2x2x2x2x2 | false | 1x2x6x6x6 | strides=2,2,2",
    })
    void emitsCompilingKernels(String op, String dt, String x, String w, boolean bias, String y, String attrSpec) {
        TensorType yt = type(dt, y);
        List<TensorType> ins = new ArrayList<>(List.of(type(dt, x), type(dt, w)));
        if (bias) ins.add(type(dt, Long.toString(yt.shape().dim(1).size())));
        Graph outer = Fixtures.outer("conv", "conv0,id0", Fixtures.oneOp(op, attrs(attrSpec), ins, List.of(yt), true));
        KernelSpec k = Fixtures.emit(t, outer);
        boolean gemm = op.equals("Conv") && yt.shape().rank() == 4 && !attrSpec.contains("group") && !dt.equals("f64");
        assertEquals(gemm, k.source().contains("implicit GEMM"), "2-D single-group f16/bf16/f32 Convs take the GEMM engine");
        if (!gemm) assertTrue(k.grid().count() * k.block().x() >= yt.shape().numel(), "one thread per output element");
        Nvcc.compile(k);
    }

    @Test
    void samePadsSplitAsOnnxSays() {
        Node n = Node.of("Conv", List.of(), List.of(), Map.of("auto_pad", Attr.of("SAME_LOWER"), "strides", ints("2")), "c");
        // in 10, k 3, stride 2 -> out 5; total pad = (5-1)*2 + 3 - 10 = 1, SAME_LOWER puts it first
        Window w = Window.forward(n, new long[] {10}, new long[] {5}, new long[] {3});
        assertArrayEquals(new long[] {1}, w.padBegin());
        assertArrayEquals(new long[] {0}, w.padEnd());
        Window u = Window.forward(n.withAttr("auto_pad", Attr.of("SAME_UPPER")), new long[] {10}, new long[] {5}, new long[] {3});
        assertArrayEquals(new long[] {0}, u.padBegin());
        assertArrayEquals(new long[] {1}, u.padEnd());
        // ConvTranspose in 5, k 3, stride 2, output_shape 10: total = 2*4 + 3 - 10 = 1, at the end
        Node ct = Node.of("ConvTranspose", List.of(), List.of(), Map.of("strides", ints("2"), "output_shape", ints("10")), "ct");
        Window v = Window.transposed(ct, new long[] {5}, new long[] {10}, new long[] {3});
        assertArrayEquals(new long[] {0}, v.padBegin());
        assertArrayEquals(new long[] {1}, v.padEnd());
    }
}
