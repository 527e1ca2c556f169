package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.KernelTemplate;
import dev.kiln.codegen.Tunable;
import dev.kiln.codegen.kernels.gemm.GemmConfig;
import dev.kiln.codegen.kernels.gemm.GemmHeuristic;
import dev.kiln.codegen.kernels.gemm.GemmOutput;
import dev.kiln.codegen.kernels.gemm.GemmProblem;
import dev.kiln.codegen.kernels.gemm.StridedOperand;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.StridedView;
import dev.kiln.ir.UnsupportedException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Fused kind {@code matmul}: one numpy MatMul (2-D, or batched with broadcast batch dims) and its elementwise
 * epilogue, on the contraction engine ({@code kernels/gemm}, docs/gemm.md). This class only adapts the
 * Fused body: each operand becomes a {@link StridedOperand} from its prologue view (K^T, a head split, a
 * slice: no copy), the epilogue and store view become the {@link GemmOutput}, and when B has no batch dims
 * of its own the batch folds into M (one [batch*M, K] x [K, N] GEMM). The config comes from
 * {@link GemmHeuristic} unless one is passed in (an autotuner's). 1-D operands are unsupported (the
 * canonicalizer reshapes them to 2-D).
 */
public final class MatMulTemplate implements KernelTemplate, Tunable {
    /** How many of the heuristic's ranked configs are autotuning candidates. */
    static final int CANDIDATES = 8;

    @Override public String name() { return "matmul"; }

    @Override public boolean accepts(Node node, Graph graph) { return FusedBody.isKind(node, "matmul"); }

    @Override public List<KernelSpec> emit(Node node, Graph graph, CodegenContext context) {
        FusedBody fb = FusedBody.of(node, Set.of("MatMul"));
        return emit(node, context.options(), context.kernelName(name()), GemmConfig.tuned(context.choice(key(fb, context.options())), problem(fb, context.options())));
    }

    /** The GEMM (shapes, dtypes, operand layouts) and the epilogue's ops: what decides the best config. */
    @Override public String problemKey(Node node, Graph graph, CodegenContext context) {
        return key(FusedBody.of(node, Set.of("MatMul")), context.options());
    }

    private static String key(FusedBody fb, CodegenOptions options) {
        GemmProblem p = problem(fb, options);
        List<String> ops = new ArrayList<>();
        for (Node e : fb.epilogue()) ops.add(e.op());
        return "matmul " + p + (p.asyncA() ? "" : " A-unaligned") + (p.asyncB() ? "" : " B-unaligned")
                + (ops.isEmpty() ? "" : " + " + String.join(",", ops)) + (fb.hasStoreView() ? " store-view" : "");
    }

    /** The heuristic's ranking: one config per tile shape, each with its best split count. */
    @Override public List<String> candidates(Node node, Graph graph, CodegenContext context) {
        GemmProblem p = problem(node, context.options());
        if (p.m() == 0 || p.n() == 0 || p.batches() == 0) return List.of();
        return GemmHeuristic.candidates(p, CANDIDATES).stream().map(GemmConfig::label).toList();
    }

    /** {@link GemmHeuristic#cost} of the variant's config; NaN for a label that does not fit. */
    @Override public double estimate(Node node, Graph graph, CodegenContext context, String variant) {
        GemmProblem p = problem(node, context.options());
        GemmConfig c = GemmConfig.tuned(variant, p);
        return c == null ? Double.NaN : GemmHeuristic.cost(p, c);
    }

    /** The GEMM this node computes (for autotuners listing {@link GemmHeuristic#candidates}). */
    public static GemmProblem problem(Node node, CodegenOptions options) {
        return problem(FusedBody.of(node, Set.of("MatMul")), options);
    }

    /** Emits with {@code config}, or the heuristic's choice when null. */
    public List<KernelSpec> emit(Node node, CodegenOptions options, String entry, GemmConfig config) {
        FusedBody fb = FusedBody.of(node, Set.of("MatMul"));
        GemmProblem p = problem(fb, options);
        if (p.m() == 0 || p.n() == 0 || p.batches() == 0) return List.of(); // empty output: nothing to compute
        GemmConfig c = config != null ? config : GemmHeuristic.choose(p);
        Node mm = fb.main();
        return List.of(fb.rowMajorGemmKernel(p, c, "matmul " + mm.input(0).type() + " x " + mm.input(1).type(), entry, null));
    }

    static GemmProblem problem(FusedBody fb, CodegenOptions options) {
        Node mm = fb.main();
        if (mm.input(1).dtype() != mm.input(0).dtype()) throw fb.fused().error(new UnsupportedException("MatMul operands differ in dtype"));
        FusedBody.Operand a = fb.operand(mm.input(0)), b = fb.operand(mm.input(1));
        long[] as = a.view().shape(), bs = b.view().shape(), y = mm.output(0).shape().sizes();
        if (as.length < 2 || bs.length < 2)
            throw mm.error(new UnsupportedException("MatMul with a 1-D operand has no GPU kernel (reshape it to 2-D first)"));
        long m = as[as.length - 2], k = as[as.length - 1], n = bs[bs.length - 1];
        if (bs[bs.length - 2] != k) throw mm.error(new UnsupportedException("MatMul inner dims differ: " + k + " vs " + bs[bs.length - 2]));
        long[] batch = Arrays.copyOf(y, y.length - 2);
        StridedView av = broadcastTo(a.view(), batch), bv = broadcastTo(b.view(), batch);
        boolean bShared = true;
        for (int i = 0; i < batch.length; i++) bShared &= batch[i] == 1 || bv.stride(i) == 0;
        if (batch.length > 0 && bShared) {
            // one tall GEMM: rows of all batch entries, when A's rows are strided evenly across them
            long[] rows = {Arrays.stream(batch).reduce(1, (x, z) -> x * z) * m, k};
            StridedView folded = av.reshape(rows);
            if (folded != null) {
                StridedOperand fa = new StridedOperand(a.name(), a.dtype(), folded.offset(), new long[0], new long[0], rows[0], folded.stride(0), k, folded.stride(1));
                return GemmProblem.of(rows[0], n, k, new long[0], fa, operand(b, bv, batch, true), options);
            }
        }
        return GemmProblem.of(m, n, k, batch, operand(a, av, batch, false), operand(b, bv, batch, true), options);
    }

    /** The view with the output's batch dims in front (broadcast axes get stride 0). */
    private static StridedView broadcastTo(StridedView v, long[] batch) {
        int r = v.rank(), extra = batch.length - (r - 2);
        long[] shape = new long[batch.length + 2], strides = new long[batch.length + 2];
        for (int i = 0; i < batch.length; i++) {
            int j = i - extra;
            shape[i] = batch[i];
            strides[i] = j < 0 || v.size(j) == 1 ? 0 : v.stride(j);
        }
        for (int i = 0; i < 2; i++) {
            shape[batch.length + i] = v.size(r - 2 + i);
            strides[batch.length + i] = v.stride(r - 2 + i);
        }
        return new StridedView(shape, strides, v.offset());
    }

    /** A: (mn = rows, k = columns); B: (k = rows, mn = columns). */
    private static StridedOperand operand(FusedBody.Operand o, StridedView v, long[] batch, boolean isB) {
        int r = v.rank();
        long[] bst = Arrays.copyOf(v.strides(), batch.length);
        long rows = v.size(r - 2), cols = v.size(r - 1), rs = v.stride(r - 2), cs = v.stride(r - 1);
        return isB ? new StridedOperand(o.name(), o.dtype(), v.offset(), batch, bst, cols, cs, rows, rs)
                : new StridedOperand(o.name(), o.dtype(), v.offset(), batch, bst, rows, rs, cols, cs);
    }
}
