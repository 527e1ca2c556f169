package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.UnsupportedException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.Map;

import static dev.kiln.codegen.kernels.contract.Fixtures.type;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PoolTemplateTest {
    private final PoolTemplate t = new PoolTemplate();

    // out = floor_or_ceil((in + pads - dilation*(k-1) - 1) / stride) + 1, worked out per case
    @ParameterizedTest(name = "{0} {1} {2} -> {3} [{4}]")
    @CsvSource(delimiter = '|', value = {
            "MaxPool | f32 | 1x3x8x8 | 1x3x4x4 | kernel_shape=2,2;strides=2,2 | true",
            "MaxPool | f32 | 1x1x8x8 | 1x1x4x4 | kernel_shape=3,3;strides=2,2;ceil_mode=1 | true",
            "MaxPool | f16 | 2x3x11 | 2x3x4 | kernel_shape=3;strides=2;dilations=2;pads=1,1 | false",
            "MaxPool | i8 | 1x2x6x6x6 | 1x2x3x3x3 | kernel_shape=2,2,2;strides=2,2,2 | true",
            "AveragePool | f32 | 1x2x5x5x5 | 1x2x3x3x3 | kernel_shape=3,3,3;strides=2,2,2;pads=1,1,1,1,1,1;count_include_pad=1 | false",
            "AveragePool | f32 | 2x3x10 | 2x3x6 | kernel_shape=3;dilations=2 | false",
            "AveragePool | bf16 | 1x4x7x7 | 1x4x4x4 | kernel_shape=3,3;strides=2,2;pads=1,1,1,1;ceil_mode=1 | false",
            "AveragePool | f64 | 1x1x9x9 | 1x1x5x5 | kernel_shape=3,3;strides=2,2;auto_pad=SAME_UPPER | false",
    })
    void emitsCompilingKernels(String op, String dt, String x, String y, String attrSpec, boolean indices) {
        Map<String, Attr> attrs = ConvTemplateTest.attrs(attrSpec.replace("ceil_mode=1", "ceil_mode=1").replace("count_include_pad=1", "count_include_pad=1"));
        fixScalar(attrs, "ceil_mode");
        fixScalar(attrs, "count_include_pad");
        TensorType yt = type(dt, y);
        List<TensorType> outs = indices ? List.of(yt, TensorType.of(DType.I64, yt.shape().sizes())) : List.of(yt);
        Graph outer = Fixtures.outer("pool", "pool0", Fixtures.oneOp(op, attrs, List.of(type(dt, x)), outs, false));
        KernelSpec k = Fixtures.emit(t, outer);
        assertTrue(k.grid().count() * k.block().x() >= yt.shape().numel(), "one thread per output element");
        if (indices) assertTrue(k.source().contains("long long* out1"), "Indices are int64");
        Nvcc.compile(k);
    }

    /** ConvTemplateTest.attrs makes ints lists; ceil_mode and count_include_pad are single ints. */
    private static void fixScalar(Map<String, Attr> attrs, String name) {
        if (attrs.get(name) instanceof Attr.Ints i) attrs.put(name, Attr.of(i.values().get(0)));
    }

    /** x[h][w] = 4h + w: each 2x2 window's max is its bottom-right tap; storage_order 1 numbers it w * H + h. */
    @Test
    void columnMajorIndicesCountTheFirstSpatialAxisFastest() throws Exception {
        TensorType y = type("f32", "1x1x2x2");
        Graph outer = Fixtures.outer("pool", "p", Fixtures.oneOp("MaxPool",
                Map.of("kernel_shape", Fixtures.ints("2,2"), "strides", Fixtures.ints("2,2"), "storage_order", Attr.of(1L)),
                List.of(type("f32", "1x1x4x4")), List.of(y, TensorType.of(DType.I64, 1, 1, 2, 2)), false));
        KernelSpec k = Fixtures.emit(t, outer);
        assertEquals(3, k.params().size());
        Nvcc.compile(k);
        double[] x = new double[16];
        for (int i = 0; i < 16; i++) x[i] = i;
        List<double[]> out = dev.kiln.codegen.kernels.HostKernel.run(k.source(), k.entry(), List.of(
                dev.kiln.codegen.kernels.HostKernel.Buf.in(dev.kiln.ir.Tensor.ofDoubles(DType.F32, new long[] {1, 1, 4, 4}, x)),
                dev.kiln.codegen.kernels.HostKernel.Buf.out(DType.F32, 4), dev.kiln.codegen.kernels.HostKernel.Buf.out(DType.I64, 4)));
        assertArrayEquals(new double[] {5, 7, 13, 15}, out.get(0));
        assertArrayEquals(new double[] {5, 13, 7, 15}, out.get(1));   // row-major would be 5, 7, 13, 15
    }
}
