package dev.kiln.ir.ops.nn;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.KilnException;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.kiln.ir.ops.nn.Nn.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ResizeOpTest {
    private static Tensor scales(double... s) { return f32(shape(s.length), s); }

    private static Map<String, Attr> attrs(String... kv) {
        Map<String, Attr> m = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put(kv[i], Attr.of(kv[i + 1]));
        return m;
    }

    private static Tensor resize1d(Map<String, Attr> a, double scale, double... x) {
        return run1("Resize", a, f32(shape(x.length), x), null, scales(scale));
    }

    @Test void nearestModes() {
        // asymmetric x/2: sources 0, 0.5, 1, 1.5; the .5 ties go by nearest_mode; index 2 clamps to the edge
        Map<String, Attr> a = attrs("coordinate_transformation_mode", "asymmetric");
        assertClose(resize1d(a, 2, 1, 2), shape(4), 1, 1, 2, 2);
        a.put("nearest_mode", Attr.of("round_prefer_ceil"));
        assertClose(resize1d(a, 2, 1, 2), shape(4), 1, 2, 2, 2);
        a.put("nearest_mode", Attr.of("floor"));
        assertClose(resize1d(a, 2, 1, 2, 3), shape(6), 1, 1, 2, 2, 3, 3);
        a.put("nearest_mode", Attr.of("ceil"));
        assertClose(resize1d(a, 2, 1, 2, 3), shape(6), 1, 2, 2, 3, 3, 3);
    }

    @Test void linearTransforms() {
        // half_pixel: sources -0.25, 0.25, 0.75, 1.25, clamped at the edges
        assertClose(resize1d(attrs("mode", "linear"), 2, 1, 2), shape(4), 1, 1.25, 1.75, 2);
        // align_corners maps the ends onto each other: 1, 4/3, 5/3, 2
        assertClose(resize1d(attrs("mode", "linear", "coordinate_transformation_mode", "align_corners"), 2, 1, 2),
                shape(4), 1, 4 / 3.0, 5 / 3.0, 2);
        // pytorch_half_pixel equals half_pixel unless the output has length 1, where it samples -0.5 (clamped: x[0])
        assertClose(resize1d(attrs("mode", "linear", "coordinate_transformation_mode", "pytorch_half_pixel"), 0.25, 4, 8, 12, 16),
                shape(1), 4);
        assertClose(resize1d(attrs("mode", "linear"), 0.25, 4, 8, 12, 16), shape(1), 10);
    }

    @Test void cubicWithAndWithoutExcludeOutside() {
        // a = -0.5, asymmetric x/2 at output 1: source 0.5, taps x[-1->0], x[0], x[1], x[2] with weights
        // -0.0625, 0.5625, 0.5625, -0.0625 -> 0.5625*1 - 0.0625*2 = 0.4375
        Map<String, Attr> a = attrs("mode", "cubic", "coordinate_transformation_mode", "asymmetric");
        a.put("cubic_coeff_a", Attr.of(-0.5));
        assertEquals(0.4375, resize1d(a, 2, 0, 1, 2, 3).getDouble(1), 1e-6);
        // exclude_outside drops the tap at -1 and renormalizes by 1.0625
        a.put("exclude_outside", Attr.of(1));
        assertEquals(0.4375 / 1.0625, resize1d(a, 2, 0, 1, 2, 3).getDouble(1), 1e-6);
    }

    @Test void linearAntialiasWidensTheFilterWhenDownscaling() {
        // scale 1/2: triangle of half slope over 4 taps, weights 1/8, 3/8, 3/8, 1/8 around sources 0.5 and 2.5
        Map<String, Attr> a = attrs("mode", "linear");
        a.put("antialias", Attr.of(1));
        assertClose(resize1d(a, 0.5, 1, 2, 3, 4), shape(2), 1.625, 3.375);
        assertClose(resize1d(attrs("mode", "linear"), 0.5, 1, 2, 3, 4), shape(2), 1.5, 3.5);
    }

    @Test void tfCropAndResizeExtrapolates() {
        Map<String, Attr> a = attrs("mode", "linear", "coordinate_transformation_mode", "tf_crop_and_resize");
        a.put("extrapolation_value", Attr.of(10.0));
        // roi [0.5, 1.5] over 3 inputs: sources 1, 2, 3, 4 at sizes 4; beyond index 2 is outside
        Tensor y = run1("Resize", a, f32(shape(3), 0, 1, 2), f32(shape(2), 0.5, 1.5), null, Tensor.vector(4));
        assertClose(y, shape(4), 1, 1 + 2 / 3.0 * 1, 10, 10);
    }

    @Test void sizesWithAxesAndKeepAspectRatio() {
        Tensor x = f32(shape(1, 2, 4), 1, 2, 3, 4, 5, 6, 7, 8);
        Map<String, Attr> a = attrs("keep_aspect_ratio_policy", "not_larger");
        a.put("axes", Attr.ints(1, 2));
        // not_larger: scale min(4/2, 4/4) = 1 -> unchanged; not_smaller: scale 2 -> 4x8
        assertEquals(List.of(1L, 2L, 4L), asList(run1("Resize", a, x, null, null, Tensor.vector(4, 4)).shape()));
        a.put("keep_aspect_ratio_policy", Attr.of("not_smaller"));
        Tensor y = run1("Resize", a, x, null, null, Tensor.vector(4, 4));
        assertEquals(List.of(1L, 4L, 8L), asList(y.shape()));
        assertEquals(1, y.getDouble(0));
        assertEquals(8, y.getDouble(31));
        a.put("axes", Attr.ints(-1));
        a.put("keep_aspect_ratio_policy", Attr.of("stretch"));
        // nearest half_pixel 4 -> 2: sources 0.5 and 2.5 round down to 0 and 2
        assertClose(run1("Resize", a, x, null, null, Tensor.vector(2)), shape(1, 2, 2), 1, 3, 5, 7);
    }

    private static List<Long> asList(long[] s) { return java.util.Arrays.stream(s).boxed().toList(); }

    @Test void shapeRuleWithConstantAndRuntimeScales() {
        TensorType x = type("N", 3, "H", 4);
        List<TensorType> t = infer("Resize", Map.of(), 1, java.util.Arrays.asList(x, null, type(4)), null, null, scales(1, 1, 2, 2));
        assertEquals(new TensorType(DType.F32, Shape.of(Dim.sym("N"), Dim.of(3), Dim.UNKNOWN, Dim.of(8))), t.get(0));
        List<TensorType> r = infer("Resize", Map.of(), 1, java.util.Arrays.asList(x, null, type(4)));
        assertEquals(Shape.unknown(4), r.get(0).shape());
        List<TensorType> s = infer("Resize", Map.of(), 1, java.util.Arrays.asList(x, null, null, new TensorType(DType.I64, Shape.of(4))),
                null, null, null, Tensor.vector(1, 3, 7, 9));
        assertEquals(type(1, 3, 7, 9), s.get(0));
    }

    @Test void errorsAreTyped() {
        Tensor x = f32(shape(2), 1, 2);
        assertThrows(InvalidModelException.class, () -> run1("Resize", attrs("mode", "bilinear"), x, null, scales(2)));
        assertThrows(InvalidModelException.class, () -> run1("Resize", attrs("coordinate_transformation_mode", "corners"), x, null, scales(2)));
        assertThrows(InvalidModelException.class, () -> run1("Resize", attrs("keep_aspect_ratio_policy", "fit"), x, null, scales(2)));
        assertThrows(KilnException.class, () -> run1("Resize", Map.of(), x, null, scales(2), Tensor.vector(4)));
        assertThrows(KilnException.class, () -> run1("Resize", Map.of(), x, null, scales(2, 2)));
        assertThrows(KilnException.class, () -> run1("Resize", attrs("coordinate_transformation_mode", "tf_crop_and_resize"), x, null, scales(2)));
    }
}
