package dev.kiln.ir.ops.nn;

import dev.kiln.ir.Attr;
import dev.kiln.ir.Dim;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.Shape;
import dev.kiln.ir.ShapeException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static dev.kiln.ir.ops.nn.Nn.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ConvOpsTest {
    private static final Tensor X55 = f32(shape(1, 1, 5, 5), range(25));
    private static final Tensor ONES33 = f32(shape(1, 1, 3, 3), 1, 1, 1, 1, 1, 1, 1, 1, 1);

    static double[] range(int n) {
        double[] r = new double[n];
        for (int i = 0; i < n; i++) r[i] = i;
        return r;
    }

    @Test void conv2dSumsEachWindow() {
        // 3x3 box sums of 0..24 laid out 5x5: the top-left window is 0+1+2+5+6+7+10+11+12 = 54, each step right +9... +3
        assertClose(run1("Conv", Map.of(), X55, ONES33), shape(1, 1, 3, 3), 54, 63, 72, 99, 108, 117, 144, 153, 162);
    }

    @Test void conv2dPaddingAndStrides() {
        // pads 1: corner window sees 0,1,5,6 = 12; stride 2 keeps rows/cols 0,2,4 of the padded result
        Tensor y = run1("Conv", Map.of("pads", Attr.ints(1, 1, 1, 1), "strides", Attr.ints(2, 2)), X55, ONES33);
        assertClose(y, shape(1, 1, 3, 3), 12, 27, 24, 63, 108, 81, 72, 117, 84);
    }

    @Test void conv1dDilationStrideAndBias() {
        Tensor x = f32(shape(1, 1, 5), 1, 2, 3, 4, 5), w = f32(shape(1, 1, 2), 1, 1), b = f32(shape(1), 0.5);
        // dilation 2 pairs x[i] with x[i+2]: 4, 6, 8; stride 2 keeps 4 and 8; bias adds 0.5
        assertClose(run1("Conv", Map.of("dilations", Attr.ints(2)), x, w), shape(1, 1, 3), 4, 6, 8);
        assertClose(run1("Conv", Map.of("dilations", Attr.ints(2), "strides", Attr.ints(2)), x, w, b), shape(1, 1, 2), 4.5, 8.5);
    }

    @Test void autoPadSameUpperPadsAtTheEndLowerAtTheBeginning() {
        Tensor x = f32(shape(1, 1, 4), 1, 2, 3, 4), w = f32(shape(1, 1, 2), 1, 1);
        assertClose(run1("Conv", Map.of("auto_pad", Attr.of("SAME_UPPER")), x, w), shape(1, 1, 4), 3, 5, 7, 4);
        assertClose(run1("Conv", Map.of("auto_pad", Attr.of("SAME_LOWER")), x, w), shape(1, 1, 4), 1, 3, 5, 7);
        assertClose(run1("Conv", Map.of("auto_pad", Attr.of("VALID")), x, w), shape(1, 1, 3), 3, 5, 7);
    }

    @Test void depthwiseGroupsKeepChannelsApart() {
        // group 2, one 1x1 filter per channel: y_c = w_c * x_c, plus a channel multiplier of 2 in the second case
        Tensor x = f32(shape(1, 2, 1, 2), 1, 2, 10, 20);
        assertClose(run1("Conv", Map.of("group", Attr.of(2)), x, f32(shape(2, 1, 1, 1), 3, -1)), shape(1, 2, 1, 2), 3, 6, -10, -20);
        Tensor w4 = f32(shape(4, 1, 1, 1), 1, 2, 3, 4);
        assertClose(run1("Conv", Map.of("group", Attr.of(2)), x, w4), shape(1, 4, 1, 2), 1, 2, 2, 4, 30, 60, 40, 80);
    }

    @Test void conv3dOfOnesCountsTheWindow() {
        double[] ones = new double[27];
        Arrays.fill(ones, 1);
        Tensor y = run1("Conv", Map.of("pads", Attr.ints(1, 1, 1, 1, 1, 1)), f32(shape(1, 1, 3, 3, 3), ones), f32(shape(1, 1, 3, 3, 3), ones));
        assertEquals(27, y.getDouble(13)); // centre sees the whole cube
        assertEquals(8, y.getDouble(0));   // a corner sees 2x2x2
    }

    @Test void convShapeRuleKeepsSymbolicBatch() {
        List<TensorType> t = infer("Conv", Map.of("pads", Attr.ints(1, 1, 1, 1)), 1, List.of(type("N", 3, 32, "W"), type(8, 3, 3, 3)));
        assertEquals(new TensorType(dev.kiln.ir.DType.F32, Shape.of(Dim.sym("N"), Dim.of(8), Dim.of(32), Dim.UNKNOWN)), t.get(0));
        // a 1x1 stride-1 window maps a symbolic axis to itself
        List<TensorType> id = infer("Conv", Map.of(), 1, List.of(type("N", 3, "H", "W"), type(8, 3, 1, 1)));
        assertEquals(type("N", 8, "H", "W"), id.get(0));
    }

    @Test void convErrorsAreTyped() {
        assertThrows(ShapeException.class, () -> infer("Conv", Map.of(), 1, List.of(type(1, 4, 5, 5), type(2, 3, 3, 3))));
        assertThrows(InvalidModelException.class, () -> infer("Conv", Map.of("auto_pad", Attr.of("SAME")), 1, List.of(type(1, 3, 5, 5), type(2, 3, 3, 3))));
        assertThrows(InvalidModelException.class, () -> infer("Conv", Map.of("strides", Attr.ints(1)), 1, List.of(type(1, 3, 5, 5), type(2, 3, 3, 3))));
        assertThrows(InvalidModelException.class, () -> infer("Conv", Map.of("group", Attr.of(0)), 1, List.of(type(1, 3, 5, 5), type(2, 3, 3, 3))));
        assertThrows(ShapeException.class, () -> infer("Conv", Map.of(), 1, List.of(type(1, 3, 2, 2), type(2, 3, 3, 3))));
    }

    // ---- ConvTranspose ----

    private static final Tensor X3 = f32(shape(1, 1, 3), 1, 2, 3), W3 = f32(shape(1, 1, 3), 1, 1, 1);

    @Test void convTransposeScattersEachInputOverTheKernel() {
        assertClose(run1("ConvTranspose", Map.of(), X3, W3), shape(1, 1, 5), 1, 3, 6, 5, 3);
        // stride 2: 1 covers 0..2, 2 covers 2..4, 3 covers 4..6
        assertClose(run1("ConvTranspose", Map.of("strides", Attr.ints(2)), X3, W3), shape(1, 1, 7), 1, 1, 3, 2, 5, 3, 3);
        assertClose(run1("ConvTranspose", Map.of("strides", Attr.ints(2), "pads", Attr.ints(1, 1)), X3, W3), shape(1, 1, 5), 1, 3, 2, 5, 3);
        assertClose(run1("ConvTranspose", Map.of("strides", Attr.ints(2), "output_padding", Attr.ints(1)), X3, W3),
                shape(1, 1, 8), 1, 1, 3, 2, 5, 3, 3, 0);
    }

    @Test void convTransposeOutputShapeAndAutoPad() {
        // output_shape 8 > the natural 7: total padding -1 goes to the end
        assertClose(run1("ConvTranspose", Map.of("strides", Attr.ints(2), "output_shape", Attr.ints(8)), X3, W3),
                shape(1, 1, 8), 1, 1, 3, 2, 5, 3, 3, 0);
        // SAME_UPPER: output 3*2 = 6, total padding 1 cut from the end; SAME_LOWER cuts it from the start
        assertClose(run1("ConvTranspose", Map.of("strides", Attr.ints(2), "auto_pad", Attr.of("SAME_UPPER")), X3, W3),
                shape(1, 1, 6), 1, 1, 3, 2, 5, 3);
        assertClose(run1("ConvTranspose", Map.of("strides", Attr.ints(2), "auto_pad", Attr.of("SAME_LOWER")), X3, W3),
                shape(1, 1, 6), 1, 3, 2, 5, 3, 3);
    }

    @Test void convTransposeGroupsDilationsAndBias() {
        Tensor x = f32(shape(1, 2, 2), 1, 2, 10, 20), w = f32(shape(2, 1, 2), 1, 1, 1, -1), b = f32(shape(2), 100, 0);
        // channel 0 with [1,1]: 1, 3, 2; channel 1 with [1,-1]: 10, 10, -20
        assertClose(run1("ConvTranspose", Map.of("group", Attr.of(2)), x, w, b), shape(1, 2, 3), 101, 103, 102, 10, 10, -20);
        // dilation 2 spreads the kernel taps: 1 at 0 and 2, 2 at 1 and 3
        assertClose(run1("ConvTranspose", Map.of("dilations", Attr.ints(2)), f32(shape(1, 1, 2), 1, 2), f32(shape(1, 1, 2), 1, 1)),
                shape(1, 1, 4), 1, 2, 1, 2);
    }

    @Test void convTransposeShapeRule() {
        assertEquals(type("N", 6, 7, 9), infer("ConvTranspose", Map.of("strides", Attr.ints(2, 2), "group", Attr.of(2)), 1,
                List.of(type("N", 4, 3, 4), type(4, 3, 3, 3))).get(0));
        assertEquals(type("N", 6, 10, 8).shape().dim(3), infer("ConvTranspose", Map.of("output_shape", Attr.ints(10, 8)), 1,
                List.of(type("N", 4, "H", "W"), type(4, 6, 3, 3))).get(0).shape().dim(3));
        assertThrows(ShapeException.class, () -> infer("ConvTranspose", Map.of(), 1, List.of(type(1, 3, 3, 3), type(4, 1, 3, 3))));
    }
}
