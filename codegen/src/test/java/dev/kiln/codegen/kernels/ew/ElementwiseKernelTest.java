package dev.kiln.codegen.kernels.ew;

import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.NvccPtx;
import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Value;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.kiln.codegen.kernels.ew.Groups.*;
import static org.junit.jupiter.api.Assertions.*;

class ElementwiseKernelTest {
    final ElementwiseKernel tpl = new ElementwiseKernel();
    final CodegenContext ctx = new CodegenContext(CodegenOptions.defaults());

    KernelSpec emit(Graph g) {
        assertTrue(tpl.accepts(last(g), g));
        List<KernelSpec> ks = tpl.emit(last(g), g, ctx);
        assertEquals(1, ks.size());
        return ks.get(0);
    }

    @Test void biasGeluWithBroadcastHasParamsInOrderAndGridStrideLaunch() {
        Graph body = body("b", List.of(t(DType.F32, 8, 128, 768), t(DType.F32, 768)),
                c -> List.of(c.op("Gelu", Map.of("approximate", Attr.of("tanh")), c.op("Add", c.in(0), c.in(1)))));
        Graph g = fused("elementwise", body, "add_1,gelu_2");
        KernelSpec k = emit(g);
        assertEquals(List.of(new KernelSpec.Param.Buffer("x_in0"), new KernelSpec.Param.Buffer("x_in1"), new KernelSpec.Param.Buffer("y0")), k.params());
        assertEquals(256, k.block().x());
        long n = 8L * 128 * 768;
        assertEquals(Math.min((n + 255) / 256, 4096), k.grid().x());
        assertTrue(k.source().startsWith("// Kiln kernel for add_1,gelu_2\n"), k.source());
        assertTrue(k.source().contains("extern \"C\" __global__ void " + k.entry() + "("));
        assertEquals(List.of("add_1", "gelu_2"), k.origins());
        NvccPtx.compile(k.source());
    }

    @Test void bigTensorsIndexWith64Bits() {
        Graph body = body("b", List.of(t(DType.F16, 3, 1L << 30), t(DType.F16, 3, 1)), c -> List.of(c.op("Mul", c.in(0), c.in(1))));
        KernelSpec k = emit(fused("elementwise", body, ""));
        assertTrue(k.source().contains("long long i"), k.source());
        NvccPtx.compile(k.source());
    }

    @Test void manyDtypesOpsAndBroadcastsCompile() {
        List<String> srcs = new ArrayList<>();
        for (DType d : List.of(DType.F32, DType.F16, DType.BF16, DType.F64)) {
            Graph body = body("b", List.of(t(d, 4, 1, 6), t(d, 5, 1), t(d)), c -> {
                Value a = c.op("Add", c.in(0), c.in(1));
                Value m = c.op("Mul", a, c.in(2));
                Value s = c.op("Sigmoid", m);
                Value cl = c.b().op("Clip", Map.of(), s, c.scalar(d, 0.1), Value.NONE);
                Value w = c.op("Where", c.op("Greater", a, c.in(2)), cl, c.op("Neg", a));
                Value e = c.op("Elu", Map.of("alpha", Attr.of(0.5)), w);
                return List.of(e, c.op("Cast", Map.of("to", Attr.of((long) DType.I32.onnxCode())), e));
            });
            KernelSpec k = emit(fused("elementwise", body, "g"));
            assertEquals(5, k.params().size());
            srcs.add(k.source());
        }
        for (DType d : List.of(DType.I8, DType.U8, DType.I16, DType.I32, DType.I64, DType.U32, DType.U64)) {
            Graph body = body("b", List.of(t(d, 7, 3), t(d, 3), t(d)), c -> List.of(
                    c.op("Mod", c.op("Add", c.in(0), c.in(1)), c.in(1)),
                    c.op("Max", c.in(0), c.in(1)),
                    c.op("Clip", c.in(0), c.in(2), c.in(2)),
                    c.op("Equal", c.in(0), c.in(1))));
            srcs.add(emit(fused("elementwise", body, "i")).source());
        }
        Graph logic = body("b", List.of(t(DType.BOOL, 2, 3), t(DType.BOOL, 3)), c -> List.of(c.op("Xor", c.op("And", c.in(0), c.in(1)), c.op("Not", c.in(1)))));
        srcs.add(emit(fused("elementwise", logic, "l")).source());
        Graph shift = body("b", List.of(t(DType.U8, 9), t(DType.U8, 9)), c -> List.of(c.op("BitShift", Map.of("direction", Attr.of("RIGHT")), c.in(0), c.in(1))));
        srcs.add(emit(fused("elementwise", shift, "s")).source());
        NvccPtx.compileAll(srcs);
    }

    @Test void loneElementwiseOpIsAOneNodeBody() {
        Graph g = single("Relu", Map.of(), List.of(t(DType.F32, 10)));
        KernelSpec k = emit(g);
        assertEquals(List.of(new KernelSpec.Param.Buffer("x0"), new KernelSpec.Param.Buffer(g.outputs().get(0).name())), k.params());
        assertEquals(1, k.grid().x());
        NvccPtx.compile(k.source());
    }
}
