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
 * The bare {@code TopK} node (fusion gives it no group kind), k a constant: a rank selection. One thread per
 * input element (grid-stride over {@code outer * n * inner}) counts the elements of its row that come before
 * it — greater (smaller with {@code largest=0}) in numpy order, NaN above every number, or equal with a lower
 * index — and stops once that count reaches k; an element of rank {@code r < k} writes value and int64 index
 * at position r. Ranks are unique, so every output slot is written exactly once, always sorted (also valid for
 * {@code sorted=0}, and what the reference gives). Each thread walks at most its whole row: O(n) per thread,
 * no shared memory, any k, deterministic. Values are copied bit for bit in the storage type.
 */
public final class TopKKernel implements KernelTemplate {
    static final int BLOCK = 256;

    @Override public String name() { return "topk"; }

    @Override public boolean accepts(Node n, Graph g) { return n.op().equals("TopK"); }

    @Override public List<KernelSpec> emit(Node n, Graph g, CodegenContext ctx) {
        Value x = n.input(0), vals = n.output(0), inds = n.output(1);
        Tensor kt = g.constantValue(n.input(1));
        if (kt == null || kt.numel() != 1) throw n.error(new UnsupportedException("TopK's k must be a one-element constant for GPU code"));
        DType t = x.dtype();
        if (t == DType.BOOL) throw n.error(new UnsupportedException("TopK of bool has no GPU kernel"));
        String ct = CTypes.compute(t);
        long[] shape = Body.sizes(x);
        int rank = shape.length;
        if (rank == 0) throw n.error(new UnsupportedException("TopK of a scalar has no axis"));
        long ax = n.attrInt("axis", -1);
        if (ax < -rank || ax >= rank) throw n.error(new UnsupportedException("TopK axis " + ax + " is out of range for rank " + rank));
        int axis = (int) (ax < 0 ? ax + rank : ax);
        long k = kt.getLong(0), len = shape[axis];
        if (k < 0 || k > len) throw n.error(new UnsupportedException("TopK k = " + k + " is out of range for axis " + axis + " of size " + len));
        boolean largest = n.attrInt("largest", 1) != 0;
        long outer = 1, inner = 1;
        for (int d = 0; d < axis; d++) outer *= shape[d];
        for (int d = axis + 1; d < rank; d++) inner *= shape[d];
        long numel = outer * len * inner;
        String idx = Index.type(numel);
        Body b = Body.of(n, g);
        String entry = ctx.kernelName(name());
        CudaSource src = b.start();
        boolean flt = t.isFloat();
        // a before b: greater (largest) or smaller, NaN counting as above every number
        String gt = flt ? "((a != a) ? (b == b) : (a > b))" : "(a > b)";
        String eq = flt ? "((a != a) ? (b != b) : (a == b))" : "(a == b)";
        src.line("__device__ __forceinline__ bool kiln_topk_gt(%s a, %s b) { return %s; }", ct, ct, gt);
        src.line("__device__ __forceinline__ bool kiln_topk_eq(%s a, %s b) { return %s; }", ct, ct, eq);
        src.comment("rows " + outer + " x " + inner + ", " + len + " along axis " + axis + ", k " + k
                + (largest ? ", largest" : ", smallest"));
        String in = "p" + b.param(x), ov = "p" + b.param(vals), oi = "p" + b.param(inds);
        try (var kern = src.block(b.signature(entry))) {
            if (k > 0) try (var loop = src.block("for (" + idx + " i = (" + idx + ")blockIdx.x * blockDim.x + threadIdx.x; i < "
                    + Index.lit(numel) + "; i += (" + idx + ")gridDim.x * blockDim.x)")) {
                src.line("%s o = i / %s, j = (i / %s) %% %s, r = i %% %s;", idx, Index.lit(len * inner), Index.lit(inner),
                        Index.lit(len), Index.lit(inner));
                src.line("%s base = o * %s + r;", idx, Index.lit(len * inner));
                src.line("%s v = %s;", ct, CTypes.load(t, in + "[i]"));
                src.line("%s before = 0;", idx);
                try (var walk = src.block("for (" + idx + " m = 0; m < " + Index.lit(len) + " && before < " + Index.lit(k) + "; m++)")) {
                    src.line("%s u = %s;", ct, CTypes.load(t, in + "[base + m * " + Index.lit(inner) + "]"));
                    src.line("if (%s || (m < j && kiln_topk_eq(u, v))) before++;", largest ? "kiln_topk_gt(u, v)" : "kiln_topk_gt(v, u)");
                }
                try (var put = src.block("if (before < " + Index.lit(k) + ")")) {
                    src.line("%s at = (o * %s + before) * %s + r;", idx, Index.lit(k), Index.lit(inner));
                    src.line("%s[at] = %s[i];", ov, in);
                    src.line("%s[at] = (long long)j;", oi);
                }
            }
        }
        return List.of(new KernelSpec(entry, src.toString(), entry, KernelSpec.Dim3.of(Index.gridFor(Math.max(numel, 1), BLOCK)),
                KernelSpec.Dim3.of(BLOCK), 0, b.params(), b.origins()));
    }
}
