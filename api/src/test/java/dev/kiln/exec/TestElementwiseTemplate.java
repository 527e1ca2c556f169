package dev.kiln.exec;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.Codegen;
import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CudaSource;
import dev.kiln.codegen.ExprEmitter;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.KernelTemplate;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Value;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.op.Trait;

import java.util.ArrayList;
import java.util.List;

/**
 * A stand-in for the real templates while they are written on other branches: one unfused elementwise op
 * whose inputs have the output's element count or one element. Registered for the api tests only.
 */
public final class TestElementwiseTemplate implements KernelTemplate {
    @Override public String name() { return "test-elementwise"; }

    @Override public boolean accepts(Node n, Graph g) {
        if (!OpRegistry.standard().contains(n.op()) || n.outputs().size() != 1) return false;
        var def = OpRegistry.standard().get(n.op());
        if (!def.has(Trait.ELEMENTWISE) || def.cExpr() == null) return false;
        long size = n.output(0).shape().numel();
        return n.inputs().allSatisfy(v -> !v.isNone() && (v.shape().numel() == size || v.shape().numel() == 1));
    }

    @Override public List<KernelSpec> emit(Node n, Graph g, CodegenContext ctx) {
        String name = ctx.kernelName(name());
        CudaSource src = new CudaSource();
        src.comment(Codegen.originComment(n));
        src.line(CTypes.PRELUDE);
        List<String> params = new ArrayList<>();
        List<KernelSpec.Param> args = new ArrayList<>();
        for (int i = 0; i < n.inputs().size(); i++) {
            params.add("const " + CTypes.storage(n.input(i).dtype()) + "* in" + i);
            args.add(new KernelSpec.Param.Buffer(n.input(i).name()));
        }
        Value out = n.output(0);
        params.add(CTypes.storage(out.dtype()) + "* out");
        params.add("long long n");
        args.add(new KernelSpec.Param.Buffer(out.name()));
        long size = out.shape().numel();
        args.add(new KernelSpec.Param.I64(size));
        try (var f = src.block("extern \"C\" __global__ void " + name + "(" + String.join(", ", params) + ")")) {
            try (var loop = src.block("for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)blockDim.x * gridDim.x)")) {
                ExprEmitter e = new ExprEmitter(src);
                for (int i = 0; i < n.inputs().size(); i++) {
                    Value v = n.input(i);
                    e.bind(v, CTypes.load(v.dtype(), "in" + i + (v.shape().numel() == 1 ? "[0]" : "[i]")));
                }
                String r = e.emit(n);
                src.line("out[i] = " + CTypes.store(out.dtype(), r) + ";");
            }
        }
        long blocks = Math.max(1, Math.min((size + 255) / 256, 4096));
        return List.of(new KernelSpec(name, src.toString(), name, KernelSpec.Dim3.of(blocks), KernelSpec.Dim3.of(256), 0, args,
                List.of(n.origin())));
    }
}
