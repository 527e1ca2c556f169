package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.KernelTemplate;
import dev.kiln.codegen.sim.SimKernel;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.Value;
import dev.kiln.ir.ref.Interpreter;
import dev.kiln.ir.text.IrParser;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Store views through today's templates, on the CPU simulator against the interpreter: the epilogue writes
 * through {@code FusedBody.viewIndex}, so the attention kernel's head merge, a matmul's transposed store and a
 * ViT's patch flatten need no kernel change (the groups are what fuse-operand-views makes; prologue views still need new kernels).
 */
class StoreViewSimTest {
    @Test void attentionWritesItsHeadsMergedBack() {
        check(new AttentionTemplate(), """
                graph @o(%q: f32[2,3,5,4], %k: f32[2,3,6,4], %v: f32[2,3,6,4]) -> (%y: f32[2,5,12]) {
                  %y = Fused(%q, %k, %v) {body = graph @attention(%y.q: f32[2,3,5,4], %y.k: f32[2,3,6,4], %y.v: f32[2,3,6,4]) -> (%y.y: f32[2,5,12]) {
                    %y.o = Attention(%y.q, %y.k, %y.v) {scale = 0.5} : f32[2,3,5,4]
                    %y.t = Transpose(%y.o) {perm = [0, 2, 1, 3]} : f32[2,5,3,4]
                    %y.s = Constant() {value = dense<i64[3]> [2, 5, 12]} : i64[3]
                    %y.y = Reshape(%y.t, %y.s) : f32[2,5,12]
                  }, kind = "attention"} : f32[2,5,12]
                }
                """);
    }

    @Test void matmulWritesItsBiasedResultTransposed() {
        check(new MatMulTemplate(), """
                graph @m(%x: f32[2,7,5], %w: f32[5,9], %b: f32[9]) -> (%y: f32[9,2,7]) {
                  %y = Fused(%x, %w, %b) {body = graph @matmul(%y.x: f32[2,7,5], %y.w: f32[5,9], %y.b: f32[9]) -> (%y.y: f32[9,2,7]) {
                    %y.m = MatMul(%y.x, %y.w) : f32[2,7,9]
                    %y.a = Add(%y.m, %y.b) : f32[2,7,9]
                    %y.y = Transpose(%y.a) {perm = [2, 0, 1]} : f32[9,2,7]
                  }, kind = "matmul"} : f32[9,2,7]
                }
                """);
    }

    @Test void convolutionWritesPatchesAsTokens() {
        check(new ConvTemplate(), """
                graph @p(%x: f32[2,3,6,6], %w: f32[5,3,3,3]) -> (%y: f32[2,4,5]) {
                  %y = Fused(%x, %w) {body = graph @conv(%y.x: f32[2,3,6,6], %y.w: f32[5,3,3,3]) -> (%y.y: f32[2,4,5]) {
                    %y.c = Conv(%y.x, %y.w) {strides = [3, 3]} : f32[2,5,2,2]
                    %y.s = Constant() {value = dense<i64[3]> [2, 5, 4]} : i64[3]
                    %y.r = Reshape(%y.c, %y.s) : f32[2,5,4]
                    %y.y = Transpose(%y.r) {perm = [0, 2, 1]} : f32[2,4,5]
                  }, kind = "conv"} : f32[2,4,5]
                }
                """);
    }

    private static void check(KernelTemplate t, String ir) {
        Graph g = IrParser.parse(ir);
        Node f = g.nodes().get(0);
        List<KernelSpec> ks = t.emit(f, g, new CodegenContext(CodegenOptions.defaults()));
        assertEquals(1, ks.size());
        Random r = new Random(11);
        Map<String, Tensor> in = new HashMap<>();
        List<Tensor> args = new ArrayList<>();
        for (Value v : g.inputs()) {
            double[] d = new double[(int) v.shape().numel()];
            for (int i = 0; i < d.length; i++) d[i] = r.nextDouble() * 2 - 1;
            Tensor x = Tensor.ofDoubles(DType.F32, v.shape().sizes(), d);
            in.put(v.name(), x);
            args.add(x);
        }
        Value out = g.outputs().get(0);
        Tensor want = Interpreter.run(g, args).get(0);
        Tensor got = Tensor.ofBytes(DType.F32, out.shape().sizes(), SimKernel.run(ks.get(0), in, Map.of(out.name(), out.shape().numel() * 4)).get(out.name()));
        for (int i = 0; i < want.numel(); i++)
            assertEquals(want.getDouble(i), got.getDouble(i), 1e-5, "element " + i + " of " + out.shape());
    }
}
