package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.NvccPtx;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** NhwcMaxPool and NhwcAveragePool on the CPU simulator against the reference interpreter (quarter-valued inputs). */
class NhwcPoolSimTest {
    @ParameterizedTest(name = "{0} {1} {2} [{3}] -> {4} channels per thread")
    @CsvSource(delimiter = '|', value = {
            "NhwcMaxPool | f16 | 1x9x9x16 | kernel_shape=3,3;strides=2,2;pads=1,1,1,1 | 8",
            "NhwcMaxPool | f32 | 2x8x7x6 | kernel_shape=2,2;strides=2,2;ceil_mode=1 | 2",
            "NhwcMaxPool | bf16 | 1x7x7x3 | kernel_shape=3,3;dilations=2,2;pads=2,2,2,2 | 1",
            "NhwcAveragePool | f16 | 1x7x7x24 | kernel_shape=7,7 | 8",
            "NhwcAveragePool | f32 | 1x9x9x8 | kernel_shape=3,3;strides=2,2;pads=1,1,1,1;count_include_pad=1 | 4",
            "NhwcAveragePool | f16 | 2x7x7x10 | kernel_shape=3,3;strides=2,2;pads=1,1,1,1;ceil_mode=1 | 2",
            "NhwcAveragePool | f32 | 1x10x5 | kernel_shape=3;strides=2;pads=1,1;count_include_pad=1;ceil_mode=1 | 1",
    })
    void matchesTheInterpreter(String op, String dt, String x, String attrSpec, int v) {
        Map<String, Attr> attrs = ConvTemplateTest.attrs(attrSpec);
        for (String scalar : List.of("ceil_mode", "count_include_pad"))
            if (attrs.get(scalar) instanceof Attr.Ints i) attrs.put(scalar, Attr.of(i.values().get(0)));
        GraphBuilder g = new GraphBuilder("body");
        Value in = g.input("x", Fixtures.type(dt, x));
        Value y = g.op(op, attrs, in);
        Graph body = g.output(y).build();
        Graph outer = Fixtures.outer("pool", "pool", body);
        Node f = Fixtures.fused(outer);
        KernelSpec k = Fixtures.emit(new PoolTemplate(), outer);
        assertTrue(k.source().contains(", " + v + " channels per thread"), "vector width " + v);
        Tensor xv = MatMulSimTest.quarters(in.type(), new Random(3));
        Tensor want = Interpreter.run(body, List.of(xv)).get(0);
        Value out = f.output(0);
        Tensor got = Tensor.ofBytes(out.dtype(), out.shape().sizes(),
                SimKernel.run(k, Map.of(f.input(0).name(), xv), Map.of(out.name(), (long) want.storage().length)).get(out.name()));
        double tol = DType.fromText(dt) == DType.F32 ? 1e-6 : 1e-2;
        for (int i = 0; i < want.numel(); i++) {
            int at = i;
            assertEquals(want.getDouble(i), got.getDouble(i), tol * (1 + Math.abs(want.getDouble(i))), () -> "element " + at);
        }
        NvccPtx.compile(k.source());
    }
}
