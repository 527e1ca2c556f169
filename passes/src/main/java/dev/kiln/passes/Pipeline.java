package dev.kiln.passes;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The standard compilation pipeline, as one list of named steps. */
public final class Pipeline {
    private Pipeline() {}

    /** The standard pipeline; {@code inputShapes} specializes symbolic inputs (may be empty). */
    public static List<Pass> standard(Map<String, long[]> inputShapes) {
        List<Pass> p = new ArrayList<>();
        // first: every later pass may rely on static shapes (element counts, Reshape targets)
        p.add(new SpecializeShapes(inputShapes));
        // before fold-batchnorm, so Conv/BN parameters computed from constants are constants
        p.add(new FoldConstants());
        // before canonicalize, which would otherwise decompose the BN into elementwise ops
        p.add(new FoldBatchNorm());
        // before canonicalize: fewer nodes to decompose (Identity, no-op Reshape/Cast)
        p.add(new Simplify());
        // after specialize-shapes (it needs static sizes); attention/fusion patterns then see one form per op
        p.add(new Canonicalize());
        // decompositions of constant operands (BN scale/sqrt(var+eps), Gemm beta·C) fold now
        p.add(new FoldConstants());
        // after canonicalize and folding: x*1, Reshape(Reshape(x)) and the like show up only now
        p.add(new Simplify());
        // before dce, so merged duplicates become dead
        p.add(new EliminateCommonSubexpressions());
        p.add(new EliminateDeadCode());
        // ---- FUSION GOES HERE ----------------------------------------------------------------------------
        // The fusion passes (dev.kiln.passes.fusion: recognize-attention, fuse-*, group-singles) are added
        // here, after dce: they need CANONICAL (one pattern per op) and a graph without dead nodes.
        // e.g. p.addAll(dev.kiln.passes.fusion.Fusion.passes());
        return p;
    }

    public static List<Pass> standard() { return standard(Map.of()); }

    /** The standard pipeline's pass names, comma-separated (round-trips through {@link Passes#parse}). */
    public static String standardString() {
        return String.join(",", standard().stream().map(Pass::name).toList());
    }
}
