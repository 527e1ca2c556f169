package dev.kiln.codegen.kernels.ew;

import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.NvccPtx;
import dev.kiln.codegen.kernels.HostKernel;
import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.ref.Interpreter;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.kiln.codegen.kernels.ew.Groups.*;
import static org.junit.jupiter.api.Assertions.*;

/** Resize through per-axis tap tables: cubic (cubic_coeff_a, exclude_outside), antialiased linear and cubic. */
class ResizeCubicTest {
    final MovementKernel tpl = new MovementKernel();
    final CodegenContext ctx = new CodegenContext(CodegenOptions.defaults());

    static Graph resize(DType d, Map<String, Attr> attrs, long[] shape, double... scales) {
        return single("Resize", attrs, List.of(t(d, shape), "none", Tensor.ofDoubles(DType.F32, new long[] {scales.length}, scales)));
    }

    static Tensor ramp(DType d, long... shape) {
        int n = 1;
        for (long s : shape) n *= (int) s;
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = (i * 5 % 13) - 6 + 0.25 * (i % 3);
        return Tensor.ofDoubles(d, shape, v);
    }

    static List<double[]> host(KernelSpec k, Tensor x, double[] scales, long outNumel) throws Exception {
        return HostKernel.run(k.source(), k.entry(), List.of(HostKernel.Buf.in(x),
                HostKernel.Buf.in(Tensor.ofDoubles(DType.F32, new long[] {scales.length}, scales)), HostKernel.Buf.out(x.dtype(), outNumel)));
    }

    @Test void workedOutCubicUpsample() throws Exception {
        // [0,1,2,3] x2, asymmetric, a = -0.75: output 1 samples 0.5 with taps at -1,0,1,2 (clamped 0,0,1,2),
        // weights cubic(1.5), cubic(0.5), cubic(0.5), cubic(1.5) = -0.09375, 0.59375, 0.59375, -0.09375
        // -> 0.59375 * 1 - 0.09375 * 2 = 0.40625; output 2 samples 1.0 exactly -> 1
        Graph g = resize(DType.F64, Map.of("mode", Attr.of("cubic"), "coordinate_transformation_mode", Attr.of("asymmetric")),
                new long[] {4}, 2);
        Tensor x = Tensor.ofDoubles(DType.F64, new long[] {4}, new double[] {0, 1, 2, 3});
        double[] got = host(tpl.emit(last(g), g, ctx).get(0), x, new double[] {2}, 8).get(0);
        assertEquals(0, got[0], 1e-12);
        assertEquals(0.40625, got[1], 1e-12);
        assertEquals(1, got[2], 1e-12);
    }

    @Test void everyTransformAndOptionMatchesTheInterpreter() throws Exception {
        List<String> srcs = new ArrayList<>();
        long[] shape = {1, 2, 4, 5};
        int cases = 0;
        for (String tr : List.of("half_pixel", "align_corners", "asymmetric", "pytorch_half_pixel", "half_pixel_symmetric"))
            for (String variant : List.of("cubic", "cubic_a-0.5_exclude", "cubic_antialias", "linear_antialias", "nearest_exclude"))
                for (double[] sc : List.of(new double[] {1, 1, 2, 1.6}, new double[] {1, 1, 0.5, 0.6}, new double[] {1, 1, 1, 3}))
                    for (DType d : List.of(DType.F64, DType.F32)) {
                        Map<String, Attr> attrs = new HashMap<>();
                        attrs.put("mode", Attr.of(variant.split("_")[0]));
                        attrs.put("coordinate_transformation_mode", Attr.of(tr));
                        if (variant.contains("antialias")) attrs.put("antialias", Attr.of(1L));
                        if (variant.contains("exclude")) attrs.put("exclude_outside", Attr.of(1L));
                        if (variant.contains("a-0.5")) attrs.put("cubic_coeff_a", Attr.of(-0.5));
                        Graph g = resize(d, attrs, shape, sc);
                        KernelSpec k = tpl.emit(last(g), g, ctx).get(0);
                        if (d == DType.F32) srcs.add(k.source());
                        Tensor x = ramp(d, shape);
                        Tensor expect = Interpreter.run(g, List.of(x)).get(0);
                        double[] got = host(k, x, sc, expect.numel()).get(0);
                        // f64: same formulas, summed in another order; f32: weights and sums rounded to float
                        double tol = d == DType.F64 ? 1e-12 : 1e-5;
                        double[] want = expect.toDoubles();
                        for (int i = 0; i < want.length; i++)
                            assertEquals(want[i], got[i], tol * Math.max(1, Math.abs(want[i])), tr + " " + variant + " " + d + " at " + i);
                        cases++;
                    }
        assertEquals(150, cases);
        srcs.add(tpl.emit(last(resize(DType.F16, Map.of("mode", Attr.of("cubic")), shape, 1, 1, 2, 2)), resize(DType.F16,
                Map.of("mode", Attr.of("cubic")), shape, 1, 1, 2, 2), ctx).get(0).source());
        NvccPtx.compileAll(srcs);
    }

    @Test void integerCubicIsRejected() {
        Graph g = resize(DType.I32, Map.of("mode", Attr.of("cubic")), new long[] {1, 1, 4, 4}, 1, 1, 2, 2);
        assertThrows(dev.kiln.ir.UnsupportedException.class, () -> tpl.emit(last(g), g, ctx));
    }
}
