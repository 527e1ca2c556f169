package dev.kiln.passes;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.ir.ref.Interpreter;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * convert-precision against the f32 reference: the converted graph's interpreter result stays within
 * |got - want| <= ATOL·max|want| + RTOL·|want| (f16: RTOL 1e-2, ATOL 1e-3; bf16: RTOL 2e-2, ATOL 1e-2),
 * its interface stays f32, and f32 is a no-op.
 */
class ConvertPrecisionTest {
    static final double F16_RTOL = 1e-2, F16_ATOL = 1e-3, BF16_RTOL = 2e-2, BF16_ATOL = 1e-2;

    /** The standard pipeline up to and including convert-precision (the IR fusion would see). */
    static List<Pass> prefix(DType dt) {
        List<Pass> all = Pipeline.standard(Map.of(), Map.of(), dt), out = new ArrayList<>();
        for (Pass p : all) {
            if (p.name().equals("fuse-epilogues")) break;
            out.add(p);
        }
        return out;
    }

    static void assertWithin(List<Tensor> want, List<Tensor> got, DType dt) {
        double rtol = dt == DType.F16 ? F16_RTOL : BF16_RTOL, atol = dt == DType.F16 ? F16_ATOL : BF16_ATOL;
        assertEquals(want.size(), got.size());
        for (int k = 0; k < want.size(); k++) {
            Tensor w = want.get(k), g = got.get(k);
            assertEquals(DType.F32, g.dtype(), "output " + k + " stays f32");
            assertArrayEquals(w.shape(), g.shape());
            double mag = 0;
            for (int i = 0; i < w.numel(); i++) mag = Math.max(mag, Math.abs(w.getDouble(i)));
            for (int i = 0; i < w.numel(); i++) {
                double a = w.getDouble(i), b = g.getDouble(i);
                assertTrue(Math.abs(a - b) <= atol * mag + rtol * Math.abs(a),
                        dt + " output " + k + " element " + i + ": want " + a + ", got " + b + " (max |want| " + mag + ")");
            }
        }
    }

    /** Runs the f32 and the converted pipeline; checks interface, dtypes inside, and the tolerance. */
    static Graph check(Graph g, DType dt, long seed) {
        Graph f32 = RefCheck.run(g, prefix(DType.F32));
        Graph low = RefCheck.run(g, prefix(dt));
        assertEquals(f32.inputs().collect(Value::type), low.inputs().collect(Value::type), "inputs stay as they were");
        assertEquals(f32.outputs().collect(Value::name), low.outputs().collect(Value::name), "outputs keep their names");
        assertTrue(low.outputs().allSatisfy(v -> v.dtype() == DType.F32), "outputs stay f32");
        List<Tensor> in = RefCheck.inputs(g, new Random(seed));
        assertWithin(Interpreter.run(f32, in), Interpreter.run(low, in), dt);
        return low;
    }

    static long count(Graph g, DType dt) {
        long k = 0;
        for (Node n : g.nodes()) for (Value o : n.outputs()) if (!o.isNone() && o.dtype() == dt) k++;
        return k;
    }

    static Tensor w(Random r, long... shape) { return RefCheck.random(r, DType.F32, shape, -0.5, 0.5); }

    static Graph mlp(Random r) {
        GraphBuilder b = new GraphBuilder("mlp");
        Value x = b.input("x", TensorType.of(DType.F32, 4, 16));
        Value h = b.op("Relu", b.op("Add", b.op("MatMul", x, b.constant(w(r, 16, 32))), b.constant(w(r, 32))));
        Value y = b.op("Add", b.op("MatMul", h, b.constant(w(r, 32, 8))), b.constant(w(r, 8)));
        return b.output(y).build();
    }

    static Graph attention(Random r) {
        GraphBuilder b = new GraphBuilder("attn");
        TensorType t = TensorType.of(DType.F32, 1, 2, 8, 16);
        Value q = b.input("q", t), k = b.input("k", t), v = b.input("v", t);
        Value s = b.op("Mul", b.op("MatMul", q, b.op("Transpose", Map.of("perm", Attr.ints(0, 1, 3, 2)), k)),
                b.constant(Tensor.scalar(DType.F32, 0.25)));
        Value p = b.op("Softmax", Map.of("axis", Attr.of(-1)), s);
        return b.output(b.op("MatMul", p, v)).build();
    }

    static Graph softmaxOnly(Random r) {
        GraphBuilder b = new GraphBuilder("softmax");
        Value x = b.input("x", TensorType.of(DType.F32, 4, 64));
        return b.output(b.op("Softmax", Map.of("axis", Attr.of(-1)), b.op("Mul", x, b.constant(Tensor.scalar(DType.F32, 3))))).build();
    }

    static Graph layerNorm(Random r) {
        GraphBuilder b = new GraphBuilder("ln");
        Value x = b.input("x", TensorType.of(DType.F32, 4, 64));
        Value y = b.op("LayerNormalization", Map.of("epsilon", Attr.of(1e-5)), b.op("Add", x, b.constant(w(r, 64))),
                b.constant(RefCheck.random(r, DType.F32, new long[] {64}, 0.5, 1.5)), b.constant(w(r, 64)));
        return b.output(y).build();
    }

    static Graph conv(Random r) {
        GraphBuilder b = new GraphBuilder("conv");
        Value x = b.input("x", TensorType.of(DType.F32, 1, 3, 8, 8));
        Value c = b.op("Conv", Map.of("pads", Attr.ints(1, 1, 1, 1)), x, b.constant(w(r, 8, 3, 3, 3)), b.constant(w(r, 8)));
        Value y = b.op("Relu", c);
        return b.output(b.op("GlobalAveragePool", y)).output(y).build();
    }

    @Property(tries = 12)
    void randomGraphsStayWithinTolerance(@ForAll @IntRange(min = 0, max = 4) int kind, @ForAll long seed, @ForAll boolean bf16) {
        Random r = new Random(seed);
        Graph g = switch (kind) {
            case 0 -> mlp(r);
            case 1 -> attention(r);
            case 2 -> layerNorm(r);
            case 3 -> conv(r);
            default -> softmaxOnly(r);
        };
        DType dt = bf16 ? DType.BF16 : DType.F16;
        Graph low = check(g, dt, seed);
        assertTrue(count(low, dt) > 0, "some values become " + dt + ":\n" + low);
    }

    @Test
    void mlpComputesInF16WithCastsOnlyAtTheBorder() {
        Graph low = check(mlp(new Random(1)), DType.F16, 1);
        // x is cast down once; the result is cast back once; weights are f16 constants
        assertEquals(2, RefCheck.count(low, "Cast"), low.toString());
        assertEquals(0, low.nodes().count(n -> n.op().equals("Constant") && n.output(0).dtype() == DType.F32), low.toString());
        assertTrue(low.nodes().select(n -> n.op().equals("MatMul")).allSatisfy(n -> n.output(0).dtype() == DType.F16));
    }

    @Test
    void softmaxSumAndNormalizationStatisticsStayF32() {
        for (Graph g : List.of(softmaxOnly(new Random(2)), layerNorm(new Random(2)))) {
            Graph low = check(g, DType.F16, 2);
            for (Node n : low.nodes()) {
                if (n.op().equals("ReduceSum")) assertEquals(DType.F32, n.output(0).dtype(), low.toString());
                if (n.op().equals("Exp")) assertEquals(DType.F32, n.output(0).dtype(), low.toString());
                if (n.op().equals("Sqrt")) assertEquals(DType.F32, n.output(0).dtype(), low.toString());
                if (n.op().equals("ReduceMax")) assertEquals(DType.F16, n.output(0).dtype(), low.toString());
            }
        }
    }

    @Test
    void squaresOfLargeValuesDoNotOverflowF16() {
        // RMS of values ~300: x·x = 90000 overflows f16 (max 65504) unless the square is kept in f32
        GraphBuilder b = new GraphBuilder("rms");
        Value x = b.input("x", TensorType.of(DType.F32, 2, 32));
        Value big = b.op("Mul", x, b.constant(Tensor.scalar(DType.F32, 150)));
        Value ms = b.op("ReduceMean", b.op("Mul", big, big), b.constant(Tensor.vector(-1)));
        Graph g = b.output(b.op("Div", big, b.op("Sqrt", ms))).build();
        check(g, DType.F16, 3);
    }

    @Test
    void shapeArithmeticStaysF32() {
        // a float Range fed by a computed bound 2000.25 + 0.25 = 2000.5 (6 elements from 1995); in f16 the
        // bound would be 2000 + 0.25 -> 2000 (spacing 1 above 1024) and the Range would have 5 elements
        GraphBuilder b = new GraphBuilder("range");
        Value x = b.input("x", TensorType.of(DType.F32, 6));
        Value lim = b.op("Add", b.constant(Tensor.scalar(DType.F32, 2000.25)), b.constant(Tensor.scalar(DType.F32, 0.25)));
        Value rg = b.op("Range", b.constant(Tensor.scalar(DType.F32, 1995)), lim, b.constant(Tensor.scalar(DType.F32, 1)));
        Graph g = b.output(b.op("Add", x, rg)).build();
        Graph low = new ConvertPrecision(DType.F16).run(g, new PassContext());
        for (Node n : low.nodes()) if (n.op().equals("Range") || n.op().equals("Add") && n.output(0).shape().rank() == 0)
            assertEquals(DType.F32, n.output(0).dtype(), low.toString());
        List<Tensor> in = List.of(Tensor.f32(new long[] {6}, 0, 0, 0, 0, 0, 0));
        assertWithin(Interpreter.run(g, in), Interpreter.run(low, in), DType.F16);
    }

    @Test
    void integerAndBoolValuesAreUntouched() {
        GraphBuilder b = new GraphBuilder("ints");
        Value i = b.input("i", TensorType.of(DType.I64, 3));
        Value x = b.input("x", TensorType.of(DType.F32, 3));
        Value m = b.op("Less", x, b.constant(Tensor.scalar(DType.F32, 0)));
        Value j = b.op("Add", i, b.constant(Tensor.scalarLong(DType.I64, 1)));
        Graph g = b.output(j).output(m).output(b.op("Where", m, x, b.op("Neg", x))).build();
        PassContext ctx = new PassContext();
        Graph low = new ConvertPrecision(DType.BF16).run(g, ctx);
        assertEquals(DType.I64, low.outputs().get(0).dtype());
        assertEquals(DType.BOOL, low.outputs().get(1).dtype());
        assertEquals(DType.F32, low.outputs().get(2).dtype());
        assertEquals(g.inputs(), low.inputs());
        List<Tensor> in = List.of(Tensor.ofLongs(DType.I64, new long[] {3}, new long[] {1, 2, 3}), Tensor.f32(new long[] {3}, -1.5, 2.25, 0.5));
        // these values are exact in bf16: the results are equal
        RefCheck.assertClose(Interpreter.run(g, in), Interpreter.run(low, in), 0);
        assertEquals(1L, ctx.counters().get("outputs cast back to f32"), ctx.counters().toString());
    }

    @Test
    void hugeConstantsClampToTheF16Range() {
        Tensor t = ConvertPrecision.convert(Tensor.f32(new long[] {3}, -1e9, 1e9, Double.NEGATIVE_INFINITY), DType.F16);
        assertEquals(-65504, t.getDouble(0));
        assertEquals(65504, t.getDouble(1));
        assertEquals(Double.NEGATIVE_INFINITY, t.getDouble(2));
    }

    @Test
    void f32IsANoOpAndTheStandardPipelineHasNoConversion() {
        Graph g = RefCheck.run(mlp(new Random(4)), prefix(DType.F32));
        assertSame(g, new ConvertPrecision(DType.F32).run(g, new PassContext()));
        assertFalse(Pipeline.standard().stream().anyMatch(p -> p.name().equals(ConvertPrecision.NAME)));
        assertTrue(prefix(DType.BF16).stream().anyMatch(p -> p instanceof ConvertPrecision c && c.target() == DType.BF16));
        assertEquals(DType.F16, ((ConvertPrecision) Passes.byName("convert-precision")).target());
        assertThrows(IllegalArgumentException.class, () -> new ConvertPrecision(DType.F64));
    }
}
