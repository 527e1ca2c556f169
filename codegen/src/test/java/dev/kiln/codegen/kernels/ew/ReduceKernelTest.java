package dev.kiln.codegen.kernels.ew;

import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.NvccPtx;
import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.UnsupportedException;
import dev.kiln.ir.Value;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.kiln.codegen.kernels.ew.Groups.*;
import static org.junit.jupiter.api.Assertions.*;

class ReduceKernelTest {
    final ReduceKernel tpl = new ReduceKernel();
    final CodegenContext ctx = new CodegenContext(CodegenOptions.defaults());

    KernelSpec emit(Graph g) {
        assertTrue(tpl.accepts(last(g), g));
        return tpl.emit(last(g), g, ctx).get(0);
    }

    /** softmax over the last axis: max, then exp(x - max) summed, then divided. */
    static Graph softmax(DType d, long... shape) {
        return body("softmax", List.of(t(d, shape)), c -> {
            Value mx = c.op("ReduceMax", c.in(0), c.axes(-1));
            Value e = c.op("Exp", c.op("Sub", c.in(0), mx));
            return List.of(c.op("Div", e, c.op("ReduceSum", e, c.axes(-1))));
        });
    }

    /** layer norm over the last axis with a [C] scale; also outputs the per-row mean. */
    static Graph layerNorm(DType d, long rows, long cols) {
        return body("ln", List.of(t(d, rows, cols), t(d, cols)), c -> {
            Value inv = c.scalar(d, 1.0 / cols);
            Value mean = c.op("Mul", c.op("ReduceSum", c.in(0), c.axes(-1)), inv);
            Value dev = c.op("Sub", c.in(0), mean);
            Value var = c.op("Mul", c.op("ReduceSum", c.op("Mul", dev, dev), c.axes(-1)), inv);
            Value y = c.op("Mul", c.op("Div", dev, c.op("Sqrt", c.op("Add", var, c.scalar(d, 1e-5)))), c.in(1));
            return List.of(y, mean);
        });
    }

    @Test void shortRowsUseAWarpPerRow() {
        KernelSpec k = emit(fused("reduce", softmax(DType.F32, 64, 100), "sm"));
        assertEquals(128, k.block().x());
        assertEquals(16, k.grid().x());   // 4 rows per block
        assertEquals(List.of(new KernelSpec.Param.Buffer("x_in0"), new KernelSpec.Param.Buffer("y0")), k.params());
        assertFalse(k.source().contains("__syncthreads"), "a warp per row needs no block barrier");
        NvccPtx.compile(k.source());
    }

    @Test void longRowsUseABlockPerRowWithSharedMemory() {
        KernelSpec k = emit(fused("reduce", layerNorm(DType.F16, 3, 4096), "ln"));
        assertEquals(512, k.block().x());
        assertEquals(3, k.grid().x());
        assertEquals(4, k.params().size());
        assertTrue(k.source().contains("__shared__"));
        NvccPtx.compile(k.source());
    }

    @Test void manyShapesDtypesAndReductionsCompile() {
        List<String> srcs = new ArrayList<>();
        for (DType d : List.of(DType.F32, DType.F16, DType.BF16, DType.F64)) {
            srcs.add(emit(fused("reduce", softmax(d, 2, 3, 1000), "s")).source());
            srcs.add(emit(fused("reduce", layerNorm(d, 5, 32), "l")).source());
        }
        for (String op : List.of("ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd"))
            for (DType d : List.of(DType.F32, DType.I32, DType.I64, DType.U8, DType.F16)) {
                // middle axis (strided cols) and leading axes, keepdims 0 and 1
                srcs.add(emit(single(op, Map.of("keepdims", Attr.of(0L)), List.of(t(d, 4, 300, 5), dev.kiln.ir.Tensor.vector(1)))).source());
                srcs.add(emit(single(op, Map.of(), List.of(t(d, 4, 3, 5), dev.kiln.ir.Tensor.vector(0, 1)))).source());
            }
        for (String op : List.of("ArgMax", "ArgMin"))
            for (DType d : List.of(DType.F32, DType.I64, DType.F16)) {
                srcs.add(emit(single(op, Map.of("axis", Attr.of(-1L)), List.of(t(d, 6, 2000)))).source());
                srcs.add(emit(single(op, Map.of("axis", Attr.of(0L), "keepdims", Attr.of(0L), "select_last_index", Attr.of(1L)),
                        List.of(t(d, 7, 9)))).source());
            }
        // no axes: everything reduces to one value
        srcs.add(emit(single("ReduceSum", Map.of(), List.of(t(DType.F32, 16, 16)))).source());
        NvccPtx.compileAll(srcs);
    }

    @Test void reduceAllHasOneRow() {
        KernelSpec k = emit(single("ReduceSum", Map.of(), List.of(t(DType.F32, 1000, 1000))));
        assertEquals(1, k.grid().x());
        assertEquals(512, k.block().x());
    }

    @Test void reductionsOverDifferentAxesAreRejected() {
        Graph b = body("b", List.of(t(DType.F32, 4, 8)), c -> List.of(
                c.op("Add", c.op("ReduceSum", c.in(0), c.axes(1)), c.op("ReduceMax", c.in(0), c.axes(1))),
                c.op("ReduceSum", c.in(0), c.axes(0))));
        Graph g = fused("reduce", b, "bad");
        assertThrows(UnsupportedException.class, () -> emit(g));
    }

    /** ONNX's default-axes cases pass axes as an int64[0] input: all axes, or none with noop_with_empty_axes=1. */
    @Test void emptyAxesInputReducesAllAxesOrNone() {
        KernelSpec all = emit(single("ReduceSum", Map.of("keepdims", Attr.of(1L)), List.of(t(DType.F32, 3, 2, 2), t(DType.I64, 0))));
        assertEquals(1, all.grid().x(), "one row: everything reduces to one value");
        assertTrue(all.source().contains("12"), "the row has 3*2*2 = 12 columns");
        KernelSpec none = emit(single("ReduceSum", Map.of("noop_with_empty_axes", Attr.of(1L)), List.of(t(DType.F32, 3, 2, 2), t(DType.I64, 0))));
        assertEquals(3, none.grid().x(), "12 rows of one element, 4 rows per block");
        NvccPtx.compileAll(List.of(all.source(), none.source()));
        // axes of unknown values still cannot be compiled
        assertThrows(UnsupportedException.class, () -> emit(single("ReduceSum", Map.of(), List.of(t(DType.F32, 3, 2, 2), t(DType.I64, 1)))));
    }
}
