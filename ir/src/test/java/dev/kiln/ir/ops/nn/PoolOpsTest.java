package dev.kiln.ir.ops.nn;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.ShapeException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static dev.kiln.ir.ops.nn.Nn.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PoolOpsTest {
    // 3x3 plane:  1 9 2 / 4 5 6 / 7 3 8
    private static final Tensor X33 = f32(shape(1, 1, 3, 3), 1, 9, 2, 4, 5, 6, 7, 3, 8);
    private static final Map<String, Attr> K2 = Map.of("kernel_shape", Attr.ints(2, 2));

    @Test void maxPoolValuesAndRowMajorIndices() {
        List<Tensor> r = run("MaxPool", K2, 2, X33);
        assertClose(r.get(0), shape(1, 1, 2, 2), 9, 9, 7, 8);
        assertArrayEquals(new long[] {1, 1, 6, 8}, r.get(1).toLongs());
        assertEquals(DType.I64, r.get(1).dtype());
    }

    @Test void maxPoolColumnMajorIndicesAddThePlaneOffset() {
        // two channels: the second plane's indices start at 9; column-major index of (h, w) is h + 3w
        Tensor x = f32(shape(1, 2, 3, 3), 1, 9, 2, 4, 5, 6, 7, 3, 8, 1, 9, 2, 4, 5, 6, 7, 3, 8);
        Map<String, Attr> a = Map.of("kernel_shape", Attr.ints(2, 2), "storage_order", Attr.of(1));
        assertArrayEquals(new long[] {3, 3, 2, 8, 12, 12, 11, 17}, run("MaxPool", a, 2, x).get(1).toLongs());
    }

    @Test void maxPoolIgnoresPaddingAndKeepsIntegersExact() {
        Tensor neg = f32(shape(1, 1, 2), -5, -7);
        // padding never wins, even against negative values
        assertClose(run1("MaxPool", Map.of("kernel_shape", Attr.ints(2), "pads", Attr.ints(1, 1)), neg), shape(1, 1, 3), -5, -5, -7);
        Tensor u8 = Tensor.ofLongs(DType.U8, shape(1, 1, 3), new long[] {200, 255, 3});
        assertArrayEquals(new long[] {255, 255}, run1("MaxPool", Map.of("kernel_shape", Attr.ints(2)), u8).toLongs());
        long big = (1L << 62) + 1; // not representable in a double: must not go through one
        Tensor i64 = Tensor.ofLongs(DType.I64, shape(1, 1, 2), new long[] {big, big - 1});
        assertArrayEquals(new long[] {big}, run1("MaxPool", Map.of("kernel_shape", Attr.ints(2)), i64).toLongs());
    }

    @Test void maxPoolDilationsAndCeilMode() {
        Tensor x = f32(shape(1, 1, 5), 1, 5, 2, 4, 3);
        // dilation 2 compares x[i] with x[i+2]
        assertClose(run1("MaxPool", Map.of("kernel_shape", Attr.ints(2), "dilations", Attr.ints(2)), x), shape(1, 1, 3), 2, 5, 3);
        // kernel 2 stride 2: floor gives 2 windows, ceil adds a third holding only x[4]
        assertClose(run1("MaxPool", Map.of("kernel_shape", Attr.ints(2), "strides", Attr.ints(2)), x), shape(1, 1, 2), 5, 4);
        assertClose(run1("MaxPool", Map.of("kernel_shape", Attr.ints(2), "strides", Attr.ints(2), "ceil_mode", Attr.of(1)), x),
                shape(1, 1, 3), 5, 4, 3);
        // ceil_mode never starts a window in the end padding: 2 inputs, kernel 1, stride 2 -> 1 output
        assertClose(run1("MaxPool", Map.of("kernel_shape", Attr.ints(1), "strides", Attr.ints(2), "ceil_mode", Attr.of(1)),
                f32(shape(1, 1, 2), 1, 2)), shape(1, 1, 1), 1);
    }

    @Test void averagePoolCountIncludePad() {
        Tensor x = f32(shape(1, 1, 3), 3, 6, 9);
        Map<String, Attr> a = Map.of("kernel_shape", Attr.ints(3), "pads", Attr.ints(1, 1));
        // window at 0 sees (pad, 3, 6): mean of real values 4.5, or 9/3 = 3 counting the pad
        assertClose(run1("AveragePool", a, x), shape(1, 1, 3), 4.5, 6, 7.5);
        Map<String, Attr> inc = Map.of("kernel_shape", Attr.ints(3), "pads", Attr.ints(1, 1), "count_include_pad", Attr.of(1));
        assertClose(run1("AveragePool", inc, x), shape(1, 1, 3), 3, 6, 5);
    }

    @Test void averagePoolCeilOverhangIsNotCounted() {
        // [1..5], kernel 2, stride 2, ceil: the last window holds only 5 and divides by 1 even with count_include_pad
        Map<String, Attr> a = Map.of("kernel_shape", Attr.ints(2), "strides", Attr.ints(2), "ceil_mode", Attr.of(1), "count_include_pad", Attr.of(1));
        assertClose(run1("AveragePool", a, f32(shape(1, 1, 5), 1, 2, 3, 4, 5)), shape(1, 1, 3), 1.5, 3.5, 5);
    }

    @Test void averagePoolSameUpper2d() {
        // kernel 2x2 SAME_UPPER on 3x3 pads one row/column at the end; border windows average fewer values
        Tensor y = run1("AveragePool", Map.of("kernel_shape", Attr.ints(2, 2), "auto_pad", Attr.of("SAME_UPPER")), X33);
        assertClose(y, shape(1, 1, 3, 3), 19 / 4.0, 22 / 4.0, 8 / 2.0, 19 / 4.0, 22 / 4.0, 14 / 2.0, 10 / 2.0, 11 / 2.0, 8);
    }

    @Test void lpPool() {
        Tensor x = f32(shape(1, 1, 4), 3, -4, 0, 1);
        assertClose(run1("LpPool", Map.of("kernel_shape", Attr.ints(2), "strides", Attr.ints(2)), x), shape(1, 1, 2), 5, 1);
        assertClose(run1("LpPool", Map.of("kernel_shape", Attr.ints(2), "p", Attr.of(1)), x), shape(1, 1, 3), 7, 4, 1);
    }

    @Test void globalPools() {
        Tensor x = f32(shape(1, 2, 2, 2), 1, 2, 3, 6, -1, -2, -3, -4);
        assertClose(run1("GlobalAveragePool", Map.of(), x), shape(1, 2, 1, 1), 3, -2.5);
        assertClose(run1("GlobalMaxPool", Map.of(), x), shape(1, 2, 1, 1), 6, -1);
        assertEquals(type("N", 2, 1, 1), infer("GlobalMaxPool", Map.of(), 1, List.of(type("N", 2, "H", 7))).get(0));
    }

    @Test void maxUnpoolInvertsMaxPool() {
        List<Tensor> p = run("MaxPool", Map.of("kernel_shape", Attr.ints(2, 2), "strides", Attr.ints(2, 2)), 2,
                f32(shape(1, 1, 2, 4), 1, 2, 8, 3, 4, 0, 5, 6));
        Tensor y = run1("MaxUnpool", Map.of("kernel_shape", Attr.ints(2, 2), "strides", Attr.ints(2, 2)), p.get(0), p.get(1));
        assertClose(y, shape(1, 1, 2, 4), 0, 0, 8, 0, 4, 0, 0, 0);
        // an explicit output_shape makes room for the odd column MaxPool dropped
        Tensor big = run1("MaxUnpool", Map.of("kernel_shape", Attr.ints(2, 2), "strides", Attr.ints(2, 2)), p.get(0), p.get(1),
                Tensor.vector(1, 1, 2, 5));
        assertArrayEquals(new long[] {1, 1, 2, 5}, big.shape());
        assertEquals(8, big.getDouble(2));
    }

    @Test void poolShapeRules() {
        List<TensorType> t = infer("MaxPool", Map.of("kernel_shape", Attr.ints(3, 3), "strides", Attr.ints(2, 2), "pads", Attr.ints(1, 1, 1, 1)), 2,
                List.of(type("N", "C", 224, "W")));
        assertEquals(type("N", "C", 112, "W").shape().dim(2), t.get(0).shape().dim(2));
        assertEquals(dev.kiln.ir.Dim.UNKNOWN, t.get(0).shape().dim(3));
        assertEquals(DType.I64, t.get(1).dtype());
        assertEquals(type("N", 3, 5, 5), infer("AveragePool", Map.of("kernel_shape", Attr.ints(2, 2), "ceil_mode", Attr.of(1), "strides", Attr.ints(2, 2)),
                1, List.of(type("N", 3, 9, 10))).get(0));
        assertEquals(type("N", 3, 8, 8), infer("MaxUnpool", Map.of("kernel_shape", Attr.ints(2, 2), "strides", Attr.ints(2, 2)), 1,
                List.of(type("N", 3, 4, 4), new TensorType(DType.I64, type("N", 3, 4, 4).shape()))).get(0));
    }

    @Test void poolErrorsAreTyped() {
        assertThrows(InvalidModelException.class, () -> infer("MaxPool", Map.of(), 1, List.of(type(1, 1, 4, 4))));
        assertThrows(InvalidModelException.class, () -> infer("MaxPool", Map.of("kernel_shape", Attr.ints(2, 2), "ceil_mode", Attr.of(2)), 1, List.of(type(1, 1, 4, 4))));
        assertThrows(InvalidModelException.class, () -> infer("AveragePool", Map.of("kernel_shape", Attr.ints(2)), 1, List.of(type(1, 1, 4, 4))));
        assertThrows(InvalidModelException.class, () -> infer("MaxPool", Map.of("kernel_shape", Attr.ints(2, 2), "pads", Attr.ints(1, 1)), 1, List.of(type(1, 1, 4, 4))));
        assertThrows(InvalidModelException.class, () -> infer("MaxPool", Map.of("kernel_shape", Attr.ints(2, 2), "storage_order", Attr.of(3)), 1, List.of(type(1, 1, 4, 4))));
        assertThrows(ShapeException.class, () -> infer("MaxPool", Map.of("kernel_shape", Attr.ints(5, 5)), 1, List.of(type(1, 1, 4, 4))));
        assertThrows(ShapeException.class, () -> infer("MaxPool", Map.of("kernel_shape", Attr.ints(2)), 1, List.of(type(1, 4))));
    }
}
