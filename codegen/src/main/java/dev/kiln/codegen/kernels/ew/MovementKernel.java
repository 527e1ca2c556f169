package dev.kiln.codegen.kernels.ew;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CudaSource;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.KernelTemplate;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.UnsupportedException;
import dev.kiln.ir.Value;

import java.util.List;
import java.util.Set;

/**
 * Fused kind {@code movement} (one movement op, plus Constants for its shape inputs) and lone movement
 * primitives: one thread per output element, grid-stride, computes the output's coordinates {@code o0, o1...}
 * and from them the source element ({@link SourceIndex} has the per-op index math). Values are copied in their
 * storage type, except Resize's linear mode which interpolates in the compute type.
 */
public final class MovementKernel implements KernelTemplate {
    static final Set<String> OPS = Set.of("Transpose", "Slice", "Concat", "Gather", "GatherElements", "GatherND", "Expand", "Pad", "Tile",
            "DepthToSpace", "SpaceToDepth", "Trilu", "Resize", "Reshape", "Identity", "Flatten", "Squeeze", "Unsqueeze");
    static final int BLOCK = 256;

    @Override public String name() { return "movement"; }

    @Override public boolean accepts(Node n, Graph g) {
        return Body.isFused(n) ? "movement".equals(Body.kind(n)) : OPS.contains(n.op());
    }

    @Override public List<KernelSpec> emit(Node n, Graph g, CodegenContext ctx) {
        Body b = Body.of(n, g);
        List<Node> ops = b.computeNodes();
        if (ops.size() != 1) throw n.error(new UnsupportedException("a movement group must hold exactly one op, has " + ops.size()));
        Node m = ops.get(0);
        if (!OPS.contains(m.op())) throw m.error(new UnsupportedException("op " + m.op() + " has no movement kernel"));
        Value out = m.output(0);
        if (b.body.outputs().size() != 1 || !b.body.outputs().get(0).equals(out))
            throw n.error(new UnsupportedException("a movement group must output its op's result"));
        CTypes.storage(out.dtype());
        long[] shape = Body.sizes(out);
        long numel = Index.numel(shape);
        long most = numel;
        for (Value v : m.inputs()) if (!v.isNone()) most = Math.max(most, Index.numel(Body.sizes(v)));
        String idx = Index.type(most);
        String entry = ctx.kernelName(name());
        CudaSource src = b.start();
        SourceIndex si = new SourceIndex(b, m, src, idx, shape, "p" + ElementwiseKernel.outParam(b, out));
        si.tables();
        try (var k = src.block(b.signature(entry))) {
            try (var loop = src.block("for (" + idx + " i = (" + idx + ")blockIdx.x * blockDim.x + threadIdx.x; i < " + Index.lit(numel)
                    + "; i += (" + idx + ")gridDim.x * blockDim.x)")) {
                long[] st = Index.strides(shape);
                for (int d = 0; d < shape.length; d++) {
                    String c = st[d] == 1 ? "i" : "(i / " + Index.lit(st[d]) + ")";
                    src.line("%s o%d = %s;", idx, d, d == 0 ? c : "(" + c + " % " + Index.lit(shape[d]) + ")");
                }
                si.body();
            }
        }
        return List.of(new KernelSpec(entry, src.toString(), entry, KernelSpec.Dim3.of(Index.gridFor(numel, BLOCK)),
                KernelSpec.Dim3.of(BLOCK), 0, b.params(), b.origins()));
    }
}
