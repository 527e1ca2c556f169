package dev.kiln.passes;

import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Value;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * canonicalize: rewrites the composite ONNX ops into the primitive set of docs/primitives.md, one named
 * rule per op (the rewrites are in {@link Decompositions}). Decompositions need static sizes (element
 * counts, Reshape targets), hence STATIC_SHAPES. A rule whose preconditions fail (training-mode Dropout,
 * LayerNormalization with its Mean output used...) leaves the node; so do ops without a primitive form,
 * which are counted and reported by codegen.
 */
public final class Canonicalize implements Pass {
    public static final String NAME = "canonicalize";

    /** op -> its decomposition; the rule name in the counters is the op's. */
    static final Map<String, Decompositions.Rule> RULES = new LinkedHashMap<>();
    static {
        RULES.put("Gemm", Decompositions::gemm);                  // alpha·op(A)@op(B) + beta·C
        RULES.put("Softmax", Decompositions::softmax);            // e = exp(x - max); e / sum(e)
        RULES.put("LogSoftmax", Decompositions::logSoftmax);      // (x - max) - log(sum(exp(x - max)))
        RULES.put("LayerNormalization", Decompositions::layerNorm);       // (x-mean)/sqrt(var+eps)·scale + B
        RULES.put("RMSNormalization", Decompositions::rmsNorm);           // x/sqrt(mean(x²)+eps)·scale
        RULES.put("InstanceNormalization", Decompositions::instanceNorm); // per (n, c) over the spatial axes
        RULES.put("GroupNormalization", Decompositions::groupNorm);       // reshape [N,G,-1], normalize, back
        RULES.put("BatchNormalization", Decompositions::batchNorm);       // (x-mean)·scale/sqrt(var+eps) + B
        RULES.put("ReduceMean", Decompositions::reduceMean);              // sum / n
        RULES.put("ReduceL1", Decompositions::reduceL1);                  // sum(|x|)
        RULES.put("ReduceL2", Decompositions::reduceL2);                  // sqrt(sum(x·x))
        RULES.put("ReduceLogSum", Decompositions::reduceLogSum);          // log(sum(x))
        RULES.put("ReduceLogSumExp", Decompositions::reduceLogSumExp);    // log(sum(exp(x - m))) + m
        RULES.put("ReduceSumSquare", Decompositions::reduceSumSquare);    // sum(x·x)
        RULES.put("GlobalAveragePool", Decompositions::globalAveragePool); // sum over spatial / n
        RULES.put("GlobalMaxPool", Decompositions::globalMaxPool);        // max over spatial
        RULES.put("Flatten", Decompositions::toReshape);                  // Reshape to the static result
        RULES.put("Squeeze", Decompositions::toReshape);
        RULES.put("Unsqueeze", Decompositions::toReshape);
        RULES.put("Sum", Decompositions::variadic);                       // ((a+b)+c)+...
        RULES.put("Mean", Decompositions::variadic);                      // (a+b+...)/k
        RULES.put("Min", Decompositions::variadic);                       // min(min(a,b),c)...
        RULES.put("Max", Decompositions::variadic);
        RULES.put("Dropout", Decompositions::dropout);                    // inference: x
        RULES.put("CastLike", Decompositions::castLike);                  // Cast to like's dtype
        RULES.put("Identity", Decompositions::identity);                  // x
        RULES.put("DequantizeLinear", Decompositions::dequantizeLinear);  // (f32(x) - f32(zp))·scale
        RULES.put("QuantizeLinear", Decompositions::quantizeLinear);      // Cast(Clip(Round(x/scale) + zp))
        RULES.put("MatMul", Decompositions::matMul);                      // 1-D operands reshaped to 2-D
        RULES.put("Einsum", Decompositions::einsum);                      // Transpose/Reshape/MatMul/ReduceSum
        RULES.put("RotaryEmbedding", AttentionRules::rotaryEmbedding);    // Gather cos/sin; c·x1 - s·x2, s·x1 + c·x2
        for (String op : java.util.List.of("ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd"))
            RULES.put(op, Decompositions::reduceEmptyAxes);               // empty runtime axes -> all axes
    }

    /** Rules that bind every output of the node themselves (Emitter.bind(n, i, v)); false when they do not apply. */
    interface MultiRule { boolean apply(Node n, Emitter e); }

    static final Map<String, MultiRule> MULTI_RULES = new LinkedHashMap<>();
    static {
        MULTI_RULES.put("Split", Decompositions::split);                          // one Slice per part
        MULTI_RULES.put("DynamicQuantizeLinear", Decompositions::dynamicQuantizeLinear); // y, scale, zero point
        MULTI_RULES.put("LayerNormalization", Decompositions::layerNormWithStats); // with Mean/InvStdDev used
        MULTI_RULES.put("Dropout", Decompositions::dropoutWithMask);              // with the mask used
        MULTI_RULES.put("Attention", AttentionRules::attention); // 3-D, past, nonpad -> 4-D kernel form + masks
    }

    @Override public String name() { return NAME; }

    @Override public Set<Property> requires() { return Set.of(Property.STATIC_SHAPES); }

    @Override public Set<Property> establishes() { return Set.of(Property.CANONICAL); }

    /** Decompositions of constant operands make new foldable subgraphs. */
    @Override public Set<Property> invalidates() { return Set.of(Property.CONSTANTS_FOLDED); }

    @Override public Graph run(Graph g, PassContext ctx) {
        Emitter e = new Emitter(g);
        for (Node n : g.nodes()) {
            MultiRule multi = MULTI_RULES.get(n.op());
            if (multi != null && multi.apply(n, e)) {
                ctx.count("rule " + n.op());
                continue;
            }
            Decompositions.Rule rule = RULES.get(n.op());
            // an Identity that names a graph output stays: removing it would only re-add it
            boolean keep = n.op().equals("Identity") && e.isGraphOutput(n.output(0));
            Value r = rule == null || keep ? null : rule.apply(n, e);
            if (r != null) {
                e.bind(n, 0, r);
                ctx.count("rule " + n.op());
                continue;
            }
            e.copy(n);
            if (!Primitives.isPrimitive(n)) ctx.count("left non-primitive " + n.op());
        }
        return e.finish();
    }
}
