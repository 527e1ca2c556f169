package dev.kiln.codegen.kernels.ew;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CudaSource;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.KernelTemplate;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.UnsupportedException;
import dev.kiln.ir.Value;

import java.util.List;

/**
 * The bare {@code CumSum} node (fusion gives it no group kind): one thread per row along the axis, grid-stride
 * over the {@code outer * inner} rows; each walks its row's {@code n} elements (backwards with
 * {@code reverse=1}) and writes the running sum, before adding the element with {@code exclusive=1}. The
 * axis must be a constant. Sums are kept in the compute type (float for f16/bf16).
 */
public final class CumSumKernel implements KernelTemplate {
    static final int BLOCK = 128;

    @Override public String name() { return "cumsum"; }

    @Override public boolean accepts(Node n, Graph g) { return n.op().equals("CumSum"); }

    @Override public List<KernelSpec> emit(Node n, Graph g, CodegenContext ctx) {
        Value x = n.input(0), y = n.output(0);
        Tensor a = g.constantValue(n.input(1));
        if (a == null || a.numel() != 1) throw n.error(new UnsupportedException("CumSum's axis must be a one-element constant for GPU code"));
        DType t = x.dtype();
        CTypes.compute(t);
        long[] shape = Body.sizes(x);
        int rank = shape.length;
        long ax = a.getLong(0);
        if (ax < -rank || ax >= Math.max(rank, 1)) throw n.error(new UnsupportedException("CumSum axis " + ax + " is out of range for rank " + rank));
        int axis = (int) (ax < 0 ? ax + rank : ax);
        long outer = 1, inner = 1, len = rank == 0 ? 1 : shape[axis];
        for (int d = 0; d < axis; d++) outer *= shape[d];
        for (int d = axis + 1; d < rank; d++) inner *= shape[d];
        boolean exclusive = n.attrInt("exclusive", 0) != 0, reverse = n.attrInt("reverse", 0) != 0;
        long rows = outer * inner, numel = rows * len;
        String idx = Index.type(numel);
        String ct = CTypes.compute(t);
        Body b = Body.of(n, g);
        String entry = ctx.kernelName(name());
        CudaSource src = b.start();
        src.comment("rows " + outer + " x " + inner + ", " + len + " along axis " + axis
                + (exclusive ? ", exclusive" : "") + (reverse ? ", reverse" : ""));
        String in = "p" + b.param(x), out = "p" + b.param(y);
        try (var k = src.block(b.signature(entry))) {
            try (var loop = src.block("for (" + idx + " r = (" + idx + ")blockIdx.x * blockDim.x + threadIdx.x; r < " + Index.lit(rows)
                    + "; r += (" + idx + ")gridDim.x * blockDim.x)")) {
                src.line("%s base = (r / %s) * %s + r %% %s;", idx, Index.lit(inner), Index.lit(len * inner), Index.lit(inner));
                src.line("%s acc = (%s)0;", ct, ct);
                try (var walk = src.block("for (" + idx + " s = 0; s < " + Index.lit(len) + "; s++)")) {
                    String k2 = reverse ? "(" + Index.lit(len - 1) + " - s)" : "s";
                    src.line("%s at = base + %s * %s;", idx, k2, Index.lit(inner));
                    src.line("%s v = %s;", ct, CTypes.load(t, in + "[at]"));
                    if (exclusive) {
                        src.line("%s[at] = %s;", out, CTypes.store(t, "acc"));
                        src.line("acc = (%s)(acc + v);", ct);
                    } else {
                        src.line("acc = (%s)(acc + v);", ct);
                        src.line("%s[at] = %s;", out, CTypes.store(t, "acc"));
                    }
                }
            }
        }
        return List.of(new KernelSpec(entry, src.toString(), entry, KernelSpec.Dim3.of(Index.gridFor(Math.max(rows, 1), BLOCK)),
                KernelSpec.Dim3.of(BLOCK), 0, b.params(), b.origins()));
    }
}
