package dev.kiln.passes;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.KilnException;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class PipelineTest {
    @Test
    void standardPipelineIsOrderedAndRoundTripsThroughItsString() {
        List<String> names = Pipeline.standard().stream().map(Pass::name).toList();
        assertEquals(List.of("specialize-shapes", "fold-constants", "fold-batchnorm", "simplify", "canonicalize",
                "fold-constants", "simplify", "cse", "dce", "recognize-attention", "dce", "fuse-epilogues", "fuse-reductions",
                "fuse-elementwise", "group-singles"), names);
        assertEquals(names, Passes.parse(Pipeline.standardString()).stream().map(Pass::name).toList());
        // the PassManager accepts the order (canonicalize's STATIC_SHAPES comes from specialize-shapes)
        assertDoesNotThrow(() -> new PassManager(Pipeline.standard(), Set.of(), PassManager.Options.defaults(), Graph::toString));
    }

    @Test
    void fuseViewsAddsTheViewPassesWhereTheirPropertiesHold() {
        List<String> names = Pipeline.standard(Map.of(), Map.of(), DType.F16, true).stream().map(Pass::name).toList();
        assertEquals(List.of("specialize-shapes", "fold-constants", "fold-batchnorm", "simplify", "canonicalize",
                "fold-constants", "simplify", "cse", "dce", "recognize-attention", "merge-parallel-matmuls", "dce",
                "convert-precision", "fuse-epilogues", "fuse-operand-views", "fuse-reductions", "fuse-elementwise",
                "group-singles"), names);
        assertDoesNotThrow(() -> new PassManager(Pipeline.standard(Map.of(), Map.of(), DType.F16, true), Set.of(), PassManager.Options.defaults(), Graph::toString));
        // fuse-operand-views reopens the groups fuse-epilogues makes: the other order is refused
        var e = assertThrows(IllegalArgumentException.class, () -> new PassManager(Passes.parse("recognize-attention,fuse-operand-views,fuse-epilogues"),
                Set.of(), PassManager.Options.defaults(), Graph::toString));
        assertTrue(e.getMessage().contains("EPILOGUES_FUSED"), e.getMessage());
    }

    @Test
    void unknownPassNameListsTheKnownOnes() {
        var e = assertThrows(IllegalArgumentException.class, () -> Passes.parse("fold-constants, no-such-pass"));
        assertTrue(e.getMessage().contains("'no-such-pass'") && e.getMessage().contains("canonicalize, cse, dce"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Passes.parse(" , "));
    }

    @Test
    void specializeShapesUsesGivenShapesAndNamesWhatStaysSymbolic() {
        GraphBuilder b = new GraphBuilder("g");
        Value x = b.input("x", new TensorType(DType.F32, Shape.of(Dim.sym("N"), Dim.of(3))));
        Graph g = b.output(b.op("Relu", x)).build();
        Graph s = new SpecializeShapes(Map.of("x", new long[] {5, 3})).run(g, new PassContext());
        assertEquals(TensorType.of(DType.F32, 5, 3), s.outputs().get(0).type());
        var e = assertThrows(KilnException.class, () -> new SpecializeShapes().run(g, new PassContext()));
        assertTrue(e.getMessage().contains("%x"), e.getMessage());
        assertThrows(KilnException.class, () -> new SpecializeShapes(Map.of("x", new long[] {5})).run(g, new PassContext()));

        GraphBuilder d = new GraphBuilder("nz");
        Value nz = d.op("NonZero", d.input("m", TensorType.of(DType.F32, 4)));
        var e2 = assertThrows(KilnException.class, () -> new SpecializeShapes().run(d.output(nz).build(), new PassContext()));
        assertTrue(e2.getMessage().contains("%" + nz.name()), e2.getMessage());
    }

    @Test
    void foldConstantsLeavesResultsOverTheLimit() {
        GraphBuilder b = new GraphBuilder("g");
        Value shape = b.constant(Tensor.vector(FoldConstants.MAX_ELEMENTS + 1));
        Value big = b.op("ConstantOfShape", shape);
        Value small = b.op("ConstantOfShape", b.constant(Tensor.vector(3)));
        Graph g = b.output(big).output(small).build();
        PassContext ctx = new PassContext();
        Graph f = new FoldConstants().run(g, ctx);
        assertEquals(1, RefCheck.count(f, "ConstantOfShape"));
        assertEquals(Tensor.zeros(DType.F32, new long[] {3}), f.constantValue(f.outputs().get(1)));
        assertEquals(1L, ctx.counters().get("too large to fold"));
    }

    @Test
    void pipelineOnAConvBnGemmModelMatchesTheReference() {
        Random r = new Random(7);
        GraphBuilder b = new GraphBuilder("cnn");
        Value x = b.input("x", new TensorType(DType.F32, Shape.of(Dim.sym("N"), Dim.of(2), Dim.of(4), Dim.of(4))));
        Value conv = b.op("Conv", Map.of("pads", Attr.ints(1, 1, 1, 1)), x, b.constant(RefCheck.random(r, DType.F32, new long[] {3, 2, 3, 3}, -1, 1)));
        Value bn = b.op("BatchNormalization", conv, b.constant(Tensor.f32(new long[] {3}, 1, 2, 0.5)), b.constant(Tensor.f32(new long[] {3}, 0, 1, -1)),
                b.constant(Tensor.f32(new long[] {3}, 0.5, -0.5, 0)), b.constant(Tensor.f32(new long[] {3}, 1, 2, 3)));
        Value pooled = b.op("GlobalAveragePool", b.op("Relu", bn));
        Value flat = b.op("Flatten", pooled);
        Value y = b.op("Softmax", b.op("Gemm", Map.of("transB", Attr.of(1)), flat,
                b.constant(RefCheck.random(r, DType.F32, new long[] {5, 3}, -1, 1)), b.constant(RefCheck.random(r, DType.F32, new long[] {5}, -1, 1))));
        Graph g = b.output(y).build();
        Graph p = RefCheck.run(g, Pipeline.standard(Map.of("x", new long[] {2, 2, 4, 4})));
        assertEquals(0, RefCheck.count(p, "BatchNormalization") + RefCheck.count(p, "Gemm") + RefCheck.count(p, "Flatten"));
        p.nodes().forEach(n -> assertTrue(Primitives.isPrimitive(n), n.op()));
        RefCheck.assertSameSemantics(g, p, List.of(RefCheck.random(r, DType.F32, new long[] {2, 2, 4, 4}, -2, 2)), 1e-5);
    }
}
