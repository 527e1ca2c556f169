package dev.kiln;

import dev.kiln.ir.ShapeException;
import dev.kiln.ir.DType;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Dim;
import dev.kiln.ir.UnsupportedException;
import dev.kiln.ir.Value;
import dev.kiln.ir.ref.Interpreter;
import dev.kiln.runtime.plan.ExecutionPlan;
import dev.kiln.runtime.plan.ExecutionPlan.Arg;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Compiling down to an ExecutionPlan on the CPU (no GPU needed). */
class CompileTest {
    static final CompileOptions OPTS = CompileOptions.defaults().withArch("sm_90");

    @Test void graphCompilesToPlanWithWorkedOutLayout() {
        CompiledModel m = Kiln.compile(TestModels.reluAdd(), OPTS);
        ExecutionPlan p = m.plan();
        // Relu(Add(x, w)) fuses into one elementwise kernel; w, a weight however small, is read from the weights
        // block (not baked into the source, so that layers differing only in weights share kernels)
        assertEquals(1, p.kernels().size());
        assertEquals(1, p.launches().size());
        assertEquals(1, m.report().kernels());
        assertEquals(1, m.report().launches());
        // x [-1,0] and the output [0,end] overlap at the kernel: 24 bytes each in 256-byte slots, x@0, out@256
        assertEquals(512, p.arenaBytes());
        assertEquals(List.of(new ExecutionPlan.Slot("x", 0, 24)), p.inputs());
        assertEquals(List.of(new ExecutionPlan.Slot(m.graph().outputs().get(0).name(), 256, 24)), p.outputs());
        assertEquals(256, p.weightBytes());
        assertEquals(List.of(new ExecutionPlan.Slot("w", 0, 24)), p.weightSlots());
        assertEquals(List.of(new Arg.ArenaPtr(0), new Arg.WeightPtr(0), new Arg.ArenaPtr(256)), p.launches().get(0).args());
        assertTrue(p.kernels().get(0).source().contains("extern \"C\" __global__ void " + p.kernels().get(0).entry()));
        assertTrue(m.report().memorySummary().startsWith("arena 0.00 MiB"), m.report().memorySummary());
        assertEquals("sm_90", m.arch());
    }

    @Test void largeConstantsGoToTheWeightsBlock() {
        GraphBuilder b = new GraphBuilder("big");
        Value x = b.input("x", TensorType.of(DType.F32, 100));
        double[] w = new double[100];
        for (int i = 0; i < w.length; i++) w[i] = i;
        Graph2.out(b, b.op("Add", x, b.constant("w", Tensor.f32(new long[] {100}, w))));
        ExecutionPlan p = Kiln.compile(b.build(), OPTS).plan();
        // 400 bytes of weights in one 256-aligned slot; the kernel reads them through a weights pointer
        assertEquals(List.of(new ExecutionPlan.Slot("w", 0, 400)), p.weightSlots());
        assertEquals(512, p.weightBytes());
        assertEquals(99f, ByteBuffer.wrap(p.weights()).order(ByteOrder.LITTLE_ENDIAN).getFloat(396));
        assertTrue(p.launches().get(0).args().contains(new Arg.WeightPtr(0)), p.launches().get(0).args().toString());
    }

    @Test void onnxBytesCompileToTheSamePlanAsTheBuiltGraph() {
        CompiledModel fromOnnx = Kiln.compile(TestModels.reluAddOnnx(), "relu_add", OPTS);
        assertEquals(Kiln.compile(TestModels.reluAdd(), OPTS).plan().kernels().size(), fromOnnx.plan().kernels().size());
        assertEquals(512, fromOnnx.plan().arenaBytes());
        assertEquals(256, fromOnnx.plan().weightBytes());
        assertEquals(List.of(TestModels.RELU_X_PLUS_W), fromOnnx.runReference(List.of(TestModels.X)));
    }

    @Test void onnxFileCompiles(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("relu_add.onnx");
        Files.write(f, TestModels.reluAddOnnx());
        CompiledModel m = Kiln.compile(f, OPTS);
        assertEquals(List.of(TestModels.RELU_X_PLUS_W), m.runReference(List.of(TestModels.X)));
    }

    @Test void runReferenceEqualsHandValuesAndTheInterpreter() {
        CompiledModel m = Kiln.compile(TestModels.reluAdd(), OPTS);
        assertEquals(List.of(TestModels.RELU_X_PLUS_W), m.runReference(List.of(TestModels.X)));
        Tensor r = TestModels.random(7, 2, 3);
        assertEquals(Interpreter.run(TestModels.reluAdd(), List.of(r)), m.runReference(List.of(r)));
    }

    @Test void cseRunsInThePipelineAndIsReported() {
        GraphBuilder b = new GraphBuilder("dup");
        Value x = b.input("x", TensorType.of(DType.F32, 4));
        Value a = b.op("Exp", x), c = b.op("Exp", x);
        Graph2.out(b, b.op("Add", a, c));
        CompiledModel m = Kiln.compile(b.build(), OPTS);
        // Exp twice -> once, then Exp + Add fuse into one kernel
        assertEquals(1, m.plan().kernels().size());
        assertTrue(m.report().passes().stream().anyMatch(r -> r.pass().equals("cse") && r.counters().contains("merged nodes 1")),
                m.report().passes().toString());
        assertEquals(Tensor.f32(new long[] {4}, 2, 2 * Math.E, 2, 2 / Math.E).toDoubles()[1],
                m.runReference(List.of(Tensor.f32(new long[] {4}, 0, 1, 0, -1))).get(0).toDoubles()[1], 1e-6);
    }

    @Test void symbolicInputShapeIsATypedError() {
        GraphBuilder b = new GraphBuilder("sym");
        Value x = b.input("x", new TensorType(DType.F32, Shape.of(Dim.sym("N"), Dim.of(3))));
        b.output(b.op("Relu", x));
        ShapeException e = assertThrows(ShapeException.class, () -> Kiln.compile(b.build(), OPTS));
        assertTrue(e.getMessage().contains("static input shapes"), e.getMessage());
    }

    @Test void opWithoutTemplateNamesNodeAndOp() {
        // MatMulInteger has reference semantics but no GPU kernel yet (TopK, the example before, now has one)
        GraphBuilder b = new GraphBuilder("mmi");
        Value x = b.input("x", TensorType.of(DType.U8, 2, 4));
        Value w = b.input("w", TensorType.of(DType.U8, 4, 3));
        b.output(b.node("MatMulInteger", List.of(x, w), java.util.Map.of(), null, "mmi_0").get(0));
        UnsupportedException e = assertThrows(UnsupportedException.class, () -> Kiln.compile(b.build(), OPTS));
        assertEquals("MatMulInteger", e.op());
        assertTrue(e.getMessage().contains("reference"), e.getMessage());
    }

    @Test void dumpFolderGetsIrAfterEachPassAndKernels(@TempDir Path dir) throws Exception {
        Kiln.compile(TestModels.reluAdd(), OPTS.withDumpDir(dir));
        assertTrue(Files.exists(dir.resolve("00-input.ir")));
        assertTrue(Files.exists(dir.resolve("01-specialize-shapes.ir")));
        Path last;
        try (var s = Files.list(dir)) {
            last = s.filter(f -> f.getFileName().toString().endsWith("-group-singles.ir")).findFirst().orElseThrow(
                    () -> new AssertionError("no dump after group-singles, the last pass"));
        }
        // every dump parses back
        dev.kiln.ir.text.IrParser.parse(Files.readString(last), n -> null);
        try (var s = Files.list(dir.resolve("kernels"))) { assertEquals(1, s.count()); }
    }

    @Test void fp16IsRecordedAndApplied() {
        CompiledModel m = Kiln.compile(TestModels.reluAdd(), OPTS.withPrecision(CompileOptions.Precision.FP16));
        assertEquals(CompileOptions.Precision.FP16, m.report().precision());
        assertTrue(m.report().precisionNote().contains("computed in fp16"), m.report().precisionNote());
        // relu(x + w) with these values is exact in f16: the same hand values through the converted IR
        assertEquals(List.of(TestModels.RELU_X_PLUS_W), m.runReference(List.of(TestModels.X)));
    }

    /** Tiny helper so a test reads as one expression. */
    static final class Graph2 { static void out(GraphBuilder b, Value v) { b.output(v); } }
}
