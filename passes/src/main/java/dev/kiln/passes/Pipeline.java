package dev.kiln.passes;

import dev.kiln.passes.fusion.FuseElementwise;
import dev.kiln.passes.fusion.FuseEpilogues;
import dev.kiln.passes.fusion.FuseOperandViews;
import dev.kiln.passes.fusion.FuseReductions;
import dev.kiln.passes.fusion.GroupSingles;
import dev.kiln.passes.fusion.RecognizeAttention;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The standard compilation pipeline, as one list of named steps. */
public final class Pipeline {
    private Pipeline() {}

    /** The standard pipeline; {@code inputShapes} specializes symbolic inputs (may be empty). */
    public static List<Pass> standard(Map<String, long[]> inputShapes) { return standard(inputShapes, Map.of()); }

    /** {@code inputValues}: inputs specialized on their values (shape tensors), see {@link SpecializeShapes}. */
    public static List<Pass> standard(Map<String, long[]> inputShapes, Map<String, dev.kiln.ir.Tensor> inputValues) {
        return standard(inputShapes, inputValues, dev.kiln.ir.DType.F32);
    }

    /** {@code precision}: F32 (as the model is), F16 or BF16 (see {@link ConvertPrecision}). */
    public static List<Pass> standard(Map<String, long[]> inputShapes, Map<String, dev.kiln.ir.Tensor> inputValues,
                                      dev.kiln.ir.DType precision) {
        return standard(inputShapes, inputValues, precision, false);
    }

    /**
     * {@code fuseViews}: also merge matmuls that share an input and move Transpose/Reshape/Slice chains into
     * matmul and attention groups as strided reads and writes ({@link MergeParallelMatMuls}, {@link FuseOperandViews});
     * only for kernels that read strided operands.
     */
    public static List<Pass> standard(Map<String, long[]> inputShapes, Map<String, dev.kiln.ir.Tensor> inputValues,
                                      dev.kiln.ir.DType precision, boolean fuseViews) {
        return standard(inputShapes, inputValues, precision, fuseViews, false);
    }

    /** {@code channelsLast}: run 2-D convolutions and pools NHWC ({@link ChannelsLast}). */
    public static List<Pass> standard(Map<String, long[]> inputShapes, Map<String, dev.kiln.ir.Tensor> inputValues,
                                      dev.kiln.ir.DType precision, boolean fuseViews, boolean channelsLast) {
        return standard(inputShapes, inputValues, precision, fuseViews, channelsLast, true);
    }

    /** {@code f32Residuals}: with f16/bf16, keep the residual stream in f32 ({@link ConvertPrecision}). */
    public static List<Pass> standard(Map<String, long[]> inputShapes, Map<String, dev.kiln.ir.Tensor> inputValues,
                                      dev.kiln.ir.DType precision, boolean fuseViews, boolean channelsLast,
                                      boolean f32Residuals) {
        List<Pass> p = new ArrayList<>();
        // first: every later pass may rely on static shapes (element counts, Reshape targets)
        p.add(new SpecializeShapes(inputShapes, inputValues));
        // before fold-batchnorm, so Conv/BN parameters computed from constants are constants
        p.add(new FoldConstants());
        // before canonicalize, which would otherwise decompose the BN into elementwise ops
        p.add(new FoldBatchNorm());
        // before canonicalize: fewer nodes to decompose (Identity, no-op Reshape/Cast)
        p.add(new Simplify());
        // after specialize-shapes (it needs static sizes); attention/fusion patterns then see one form per op
        p.add(new Canonicalize());
        // after canonicalize (BatchNorms folded or decomposed, one op form) and before fold-constants, which folds
        // the Transposes it puts on the weights, and simplify, which cancels the Transpose pairs it leaves
        if (channelsLast) p.add(new ChannelsLast());
        // decompositions of constant operands (BN scale/sqrt(var+eps), Gemm beta·C) fold now
        p.add(new FoldConstants());
        // after canonicalize and folding: x*1, Reshape(Reshape(x)) and the like show up only now
        p.add(new Simplify());
        // before dce, so merged duplicates become dead
        p.add(new EliminateCommonSubexpressions());
        p.add(new EliminateDeadCode());
        // fusion needs CANONICAL (one pattern per op) and no dead nodes (a dead user would block a fusion).
        // recognize-attention first, so the softmax inside attention is not fused into a reduce group
        p.add(new RecognizeAttention());
        // after recognize-attention (its pattern reads Q, K, V from anywhere, so merging first is not needed) and
        // before convert-precision (which may give each projection its own Cast of the shared input) and
        // fuse-epilogues (the merged bias becomes the merged GEMM's epilogue)
        if (fuseViews) p.add(new MergeParallelMatMuls());
        // recognize-attention leaves the scale and axes constants of the matched pattern unused, merging the
        // projection weights it replaced
        p.add(new EliminateDeadCode());
        // after canonicalize/folding and recognize-attention (no Casts inside the patterns), before fusion,
        // so the Casts it adds fuse into the kernels around them; absent for f32
        if (precision != dev.kiln.ir.DType.F32) p.add(new ConvertPrecision(precision, f32Residuals));
        // epilogues before elementwise chains: a bias+activation belongs in the matmul/conv kernel
        p.add(new FuseEpilogues());
        // after fuse-epilogues (it reopens the matmul groups, bias and activation inside) and before group-singles
        // and fuse-elementwise, which would give each Transpose and Slice next to a matmul or attention its own
        // movement kernel; it absorbs no elementwise op, so fuse-reductions and fuse-elementwise see the same ops
        if (fuseViews) p.add(new FuseOperandViews());
        // reductions take their elementwise prologue/epilogue before fuse-elementwise can claim them
        p.add(new FuseReductions());
        p.add(new FuseElementwise());
        // last: every remaining compute node becomes a one-node group of its kind (FUSED)
        p.add(new GroupSingles());
        return p;
    }

    /** The passes of {@code pipeline} that run before the one named {@code name} (all of them if none has that name). */
    public static List<Pass> before(List<Pass> pipeline, String name) {
        for (int i = 0; i < pipeline.size(); i++) if (pipeline.get(i).name().equals(name)) return List.copyOf(pipeline.subList(0, i));
        return List.copyOf(pipeline);
    }

    public static List<Pass> standard() { return standard(Map.of()); }

    /** The standard pipeline's pass names, comma-separated (round-trips through {@link Passes#parse}). */
    public static String standardString() {
        return String.join(",", standard().stream().map(Pass::name).toList());
    }
}
