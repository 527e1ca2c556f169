package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.NvccPtx;
import dev.kiln.codegen.kernels.gemm.GemmConfig;
import dev.kiln.codegen.kernels.gemm.GemmHeuristic;
import dev.kiln.codegen.kernels.gemm.GemmProblem;
import dev.kiln.codegen.sim.SimKernel;
import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.ir.ref.Interpreter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * NhwcConv groups (implicit GEMM, depthwise and direct kernels) run on the CPU simulator against the reference
 * interpreter, with bias and epilogues (Relu, HardSwish, a residual Add); inputs are quarters so products are
 * exact and only the accumulation order and the output rounding differ.
 */
class NhwcConvSimTest {
    /** A conv body: x [N,H,W,C], w [M,kh,kw,C/g], b [M], then the epilogue ("relu", "hswish", "add": + a residual input). */
    static Graph body(DType t, long[] x, long[] w, long stride, long pad, long dil, long group, String epi, boolean bias) {
        GraphBuilder g = new GraphBuilder("body");
        Value vx = g.input("x", TensorType.of(t, x)), vw = g.input("w", TensorType.of(t, w));
        List<Value> in = new ArrayList<>(List.of(vx, vw));
        if (bias) in.add(g.input("b", TensorType.of(t, w[0])));
        Map<String, Attr> attrs = new HashMap<>(Map.of("strides", Attr.ints(stride, stride), "dilations", Attr.ints(dil, dil), "group", Attr.of(group)));
        if (pad < 0) attrs.put("auto_pad", Attr.of("SAME_UPPER"));
        else attrs.put("pads", Attr.ints(pad, pad, pad, pad));
        Value y = g.node("NhwcConv", in, attrs, List.of("y"), "conv").get(0);
        Value out = switch (epi) {
            case "relu" -> g.op("Relu", y);
            case "hswish" -> g.op("HardSwish", y);
            case "add" -> g.op("Add", y, g.input("res", y.type()));
            default -> y;
        };
        return g.output(out).build();
    }

    /** Runs a conv group's kernel (config null: the heuristic's) in the simulator; asserts it matches the interpreter. */
    static KernelSpec check(Graph body, GemmConfig config) { return check(body, config, CodegenOptions.defaults()); }

    static KernelSpec check(Graph body, GemmConfig config, CodegenOptions o) {
        Graph outer = Fixtures.outer("conv", "conv,epi", body);
        Node f = Fixtures.fused(outer);
        KernelSpec k = config == null ? new ConvTemplate().emit(f, outer, new CodegenContext(o)).get(0)
                : new ConvTemplate().emit(f, o, "conv_k", config).get(0);
        Random r = new Random(7);
        List<Tensor> ins = new ArrayList<>();
        Map<String, Tensor> byName = new HashMap<>();
        for (int i = 0; i < body.inputs().size(); i++) {
            Tensor v = MatMulSimTest.quarters(body.inputs().get(i).type(), r);
            ins.add(v);
            byName.put(f.input(i).name(), v);
        }
        Tensor want = Interpreter.run(body, ins).get(0);
        Value out = f.output(0);
        Tensor got = Tensor.ofBytes(out.dtype(), out.shape().sizes(),
                SimKernel.run(k, byName, Map.of(out.name(), (long) want.storage().length)).get(out.name()));
        DType t = out.dtype();
        double tol = MatMulSimTest.tol(t) * (t == DType.F32 ? 1 : 4);
        for (int i = 0; i < want.numel(); i++) {
            int at = i;
            assertEquals(want.getDouble(i), got.getDouble(i), tol * (1 + Math.abs(want.getDouble(i))), () -> "element " + at + "\n" + k.source());
        }
        return k;
    }

    static long[] dims(String s) {
        String[] p = s.split("x");
        long[] d = new long[p.length];
        for (int i = 0; i < p.length; i++) d[i] = Long.parseLong(p[i]);
        return d;
    }

    @ParameterizedTest(name = "{0} x {1} w {2} s{3} p{4} d{5} g{6} {7} -> {8}")
    @CsvSource({
            // one group: the engine
            "f16, 2x5x6x16, 32x1x1x16, 1, 0, 1, 1, relu, plain GEMM",
            "f16, 2x7x9x16, 24x3x3x16, 1, 1, 1, 1, add, implicit GEMM",
            "f16, 1x23x23x3, 8x7x7x3, 2, 3, 1, 1, relu, implicit GEMM",
            "f32, 1x9x9x8, 12x3x3x8, 2, 1, 2, 1, hswish, implicit GEMM",
            "bf16, 1x6x7x5, 7x3x3x5, 1, -1, 1, 1, relu, implicit GEMM",
            "f32, 1x6x6x12, 20x1x1x12, 2, 0, 1, 1, none, implicit GEMM",
            // depthwise
            "f16, 1x10x10x24, 24x3x3x1, 1, 1, 1, 24, relu, depthwise",
            "f16, 2x11x11x16, 16x3x3x1, 2, 1, 1, 16, add, depthwise",
            "f32, 1x9x9x12, 12x7x7x1, 1, 3, 1, 12, none, depthwise",
            "f16, 1x13x13x8, 8x7x7x1, 1, 3, 1, 8, hswish, depthwise",
            "f16, 1x6x6x6, 12x3x3x1, 1, 1, 1, 6, relu, depthwise",
            "bf16, 1x5x7x3, 3x3x3x1, 1, 1, 2, 3, none, depthwise",
            "f16, 1x3x5x272, 272x3x3x1, 1, 1, 1, 272, relu, depthwise",
            // grouped and f64: direct
            "f16, 1x7x7x16, 32x3x3x4, 1, 1, 1, 4, relu, direct",
            "f32, 2x5x5x6, 6x3x3x2, 2, 1, 1, 3, add, direct",
            "f64, 1x5x5x4, 4x3x3x4, 1, 1, 1, 1, none, direct",
    })
    void matchesTheInterpreter(String dt, String x, String w, long stride, long pad, long dil, long group, String epi, String path) {
        KernelSpec k = check(body(DType.fromText(dt), dims(x), dims(w), stride, pad, dil, group, epi, true), null);
        assertTrue(k.source().contains(path), "takes the " + path + " path:\n" + k.source().lines().limit(3).toList());
        NvccPtx.compile(k.source());
    }

    /** With few threads for the GPU (a one-SM target), each thread computes several adjacent pixels, reusing input columns. */
    @ParameterizedTest(name = "{0} x {1} w {2} s{3} p{4} -> {5} pixels per thread")
    @CsvSource({
            "f16, 1x32x32x16, 16x3x3x1, 1, 1, 4",
            "f16, 4x32x33x16, 16x3x3x1, 2, 1, 4",
            "f32, 1x32x36x8, 8x7x7x1, 1, 3, 4",
            "f16, 1x32x35x16, 16x7x7x1, 1, 3, 4",
    })
    void depthwiseThreadsTakeSeveralPixels(String dt, String x, String w, long stride, long pad, int pixels) {
        long c = dims(x)[3];
        KernelSpec k = check(body(DType.fromText(dt), dims(x), dims(w), stride, pad, 1, c, "relu", true), null, new CodegenOptions(false, "sm_90", 1));
        assertTrue(k.source().contains(" x " + pixels + " pixels per thread"), k.source().lines().limit(2).toList().toString());
    }

    /** The top autotuning candidates of a small-map conv, and a split-K config, are correct. */
    @Test
    void everyCandidateOfASmallMapConvIsCorrect() {
        Graph body = body(DType.F16, dims("1x4x4x32"), dims("32x3x3x32"), 1, 1, 1, 1, "add", true);
        Graph outer = Fixtures.outer("conv", "conv,epi", body);
        Node f = Fixtures.fused(outer);
        GemmProblem p = ConvTemplate.problem(f, CodegenOptions.defaults());
        assertTrue(p.asyncA() && p.asyncB(), "C = 32: 16-byte loads of both operands");
        List<String> labels = new ConvTemplate().candidates(f, outer, new CodegenContext(CodegenOptions.defaults()));
        assertTrue(labels.size() > 1, "several candidates");
        for (String l : labels.subList(0, Math.min(4, labels.size()))) check(body, GemmConfig.parse(l));
        GemmConfig splitK = GemmHeuristic.choose(p).withSplitK(3);
        assertTrue(splitK.validFor(p) && splitK.splits(p) > 1, "a split-K config: " + splitK.label());
        check(body, splitK);
    }

    /** Direct and depthwise kernels have no variants; the engine's key names the window, so 3x3 and 1x1 with one K differ. */
    @Test
    void keysSeparateWindowsAndOnlyEngineConvsHaveCandidates() {
        CodegenContext ctx = new CodegenContext(CodegenOptions.defaults());
        Graph a = Fixtures.outer("conv", "c", body(DType.F16, dims("1x8x8x16"), dims("16x3x3x16"), 1, 1, 1, 1, "none", false));
        Graph b = Fixtures.outer("conv", "c", body(DType.F16, dims("1x8x8x144"), dims("16x1x1x144"), 1, 0, 1, 1, "none", false));
        Graph dw = Fixtures.outer("conv", "c", body(DType.F16, dims("1x8x8x16"), dims("16x3x3x1"), 1, 1, 1, 16, "none", false));
        ConvTemplate t = new ConvTemplate();
        assertTrue(!t.problemKey(Fixtures.fused(a), a, ctx).equals(t.problemKey(Fixtures.fused(b), b, ctx)));
        assertTrue(t.candidates(Fixtures.fused(dw), dw, ctx).isEmpty());
        assertTrue(t.candidates(Fixtures.fused(a), a, ctx).size() > 1);
    }
}
