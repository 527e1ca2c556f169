package dev.kiln.codegen.kernels.ew;

import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.NvccPtx;
import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.UnsupportedException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static dev.kiln.codegen.kernels.ew.Groups.*;
import static org.junit.jupiter.api.Assertions.*;

class MovementKernelTest {
    final MovementKernel tpl = new MovementKernel();
    final CodegenContext ctx = new CodegenContext(CodegenOptions.defaults());

    KernelSpec emit(Graph g) {
        assertTrue(tpl.accepts(last(g), g), last(g).op());
        return tpl.emit(last(g), g, ctx).get(0);
    }

    static Tensor i64(long... v) { return Tensor.vector(v); }

    List<Graph> cases(DType d) {
        List<Graph> l = new ArrayList<>();
        l.add(single("Transpose", Map.of("perm", Attr.ints(0, 2, 3, 1)), List.of(t(d, 2, 3, 4, 5))));
        l.add(single("Transpose", Map.of(), List.of(t(d, 7, 9))));
        l.add(single("Slice", Map.of(), List.of(t(d, 10, 20), i64(1, -1), i64(8, -21), i64(0, 1), i64(2, -3))));
        l.add(single("Slice", Map.of(), List.of(t(d, 10, 20), i64(2), i64(100))));
        l.add(single("Concat", Map.of("axis", Attr.of(1L)), List.of(t(d, 2, 3, 4), t(d, 2, 5, 4), t(d, 2, 1, 4))));
        l.add(single("Gather", Map.of("axis", Attr.of(1L)), List.of(t(d, 3, 50, 4), t(DType.I64, 2, 6))));
        l.add(single("Gather", Map.of(), List.of(t(d, 30, 8), t(DType.I32))));
        l.add(single("GatherElements", Map.of("axis", Attr.of(-1L)), List.of(t(d, 4, 9), t(DType.I64, 4, 3))));
        l.add(single("Expand", Map.of(), List.of(t(d, 3, 1), i64(2, 3, 6))));
        for (String mode : List.of("constant", "reflect", "edge", "wrap"))
            l.add(single("Pad", Map.of("mode", Attr.of(mode)), List.of(t(d, 2, 5, 6), i64(0, 2, 3, 0, 1, 4))));
        l.add(single("Pad", Map.of(), List.of(t(d, 4, 6), i64(1, -1, 1, 2), t(d))));
        l.add(single("Tile", Map.of(), List.of(t(d, 2, 3), i64(3, 2))));
        l.add(single("DepthToSpace", Map.of("blocksize", Attr.of(2L)), List.of(t(d, 1, 8, 3, 3))));
        l.add(single("DepthToSpace", Map.of("blocksize", Attr.of(2L), "mode", Attr.of("CRD")), List.of(t(d, 1, 8, 3, 3))));
        l.add(single("SpaceToDepth", Map.of("blocksize", Attr.of(3L)), List.of(t(d, 2, 2, 6, 9))));
        l.add(single("Trilu", Map.of(), List.of(t(d, 2, 5, 5), Tensor.scalarLong(DType.I64, -1))));
        l.add(single("Trilu", Map.of("upper", Attr.of(0L)), List.of(t(d, 4, 6), t(DType.I64))));
        l.add(single("Resize", Map.of("mode", Attr.of("nearest")), List.of(t(d, 1, 2, 4, 4), Tensor.f32(new long[] {0}), Tensor.f32(new long[] {4}, 1, 1, 2, 1.5))));
        l.add(single("Reshape", Map.of(), List.of(t(d, 4, 6), i64(3, 8))));
        return l;
    }

    @Test void everyMovementOpCompilesForManyDtypes() {
        List<String> srcs = new ArrayList<>();
        for (DType d : List.of(DType.F32, DType.F16, DType.BF16, DType.F64, DType.I8, DType.I64, DType.BOOL))
            for (Graph g : cases(d)) srcs.add(emit(g).source());
        for (String tr : List.of("half_pixel", "align_corners", "asymmetric", "pytorch_half_pixel"))
            for (DType d : List.of(DType.F32, DType.F16))
                srcs.add(emit(single("Resize", Map.of("mode", Attr.of("linear"), "coordinate_transformation_mode", Attr.of(tr)),
                        List.of(t(d, 1, 3, 5, 7), Value0.NONE, Value0.NONE, i64(1, 3, 9, 4)))).source());
        NvccPtx.compileAll(srcs);
    }

    @Test void fusedMovementGroupReadsShapeConstantsFromTheBody() {
        Graph body = body("b", List.of(t(DType.F32, 4, 6)), c -> List.of(c.op("Slice", c.in(0), c.axes(1), c.axes(5), c.axes(1), c.axes(2))));
        KernelSpec k = emit(fused("movement", body, "slice_7"));
        assertEquals(List.of(new KernelSpec.Param.Buffer("x_in0"), new KernelSpec.Param.Buffer("y0")), k.params());
        // out [4,2]: element (r, c) reads in[r, 1 + 2c] = 1 + 6r + 2c
        assertTrue(k.source().contains("p1[i] = p0[1 + ((i % 2) * 2 + (i / 2) * 6)];"), k.source());
        NvccPtx.compile(k.source());
    }

    @Test void transposeReadsThroughPermutedStrides() {
        KernelSpec k = emit(single("Transpose", Map.of("perm", Attr.ints(1, 0)), List.of(t(DType.F32, 3, 5))));
        // out [5,3]: (a, b) reads in[b, a] = 5b + a
        assertTrue(k.source().contains("p1[i] = p0[((i % 3) * 5 + (i / 3))];"), k.source());
        assertEquals(256, k.block().x());
        assertEquals(1, k.grid().x());
    }

    @Test void tfCropAndResizeIsUnsupported() {
        Graph g = single("Resize", Map.of("mode", Attr.of("linear"), "coordinate_transformation_mode", Attr.of("tf_crop_and_resize")),
                List.of(t(DType.F32, 1, 1, 4, 4), Tensor.f32(new long[] {8}, 0, 0, 0, 0, 1, 1, 1, 1), Tensor.f32(new long[] {4}, 1, 1, 2, 2)));
        assertThrows(UnsupportedException.class, () -> emit(g));
    }

    @Test void sliceStartClampsLikeOnnx() {
        assertEquals(9, SourceIndex.sliceStart(100, -1, 10));
        assertEquals(10, SourceIndex.sliceStart(100, 1, 10));
        assertEquals(0, SourceIndex.sliceStart(-100, 1, 10));
        assertEquals(7, SourceIndex.sliceStart(-3, 2, 10));
        assertTrue(Arrays.equals(new long[] {0}, new long[] {SourceIndex.sliceStart(5, 1, 0)}));
    }

    /** Omitted optional inputs in {@link Groups#single}. */
    enum Value0 { NONE }
}
