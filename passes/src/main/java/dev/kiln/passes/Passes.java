package dev.kiln.passes;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Passes by name, for {@code kiln dump --after NAME}, pipeline strings ({@code "fold-constants,simplify,dce"})
 * and the lit tests. The fusion passes register themselves with {@link #register} from their package.
 */
public final class Passes {
    private Passes() {}

    private static final Map<String, Supplier<Pass>> BY_NAME = new LinkedHashMap<>();
    static {
        register(SpecializeShapes.NAME, SpecializeShapes::new);
        register(FoldConstants.NAME, FoldConstants::new);
        register(FoldBatchNorm.NAME, FoldBatchNorm::new);
        register(Simplify.NAME, Simplify::new);
        register(Canonicalize.NAME, Canonicalize::new);
        register(EliminateCommonSubexpressions.NAME, EliminateCommonSubexpressions::new);
        register(EliminateDeadCode.NAME, EliminateDeadCode::new);
        register(MergeParallelMatMuls.NAME, MergeParallelMatMuls::new);
        register(ChannelsLast.NAME, ChannelsLast::new);
        register(ConvertPrecision.NAME, ConvertPrecision::new);   // f16; the pipeline passes its own target
        register(dev.kiln.passes.fusion.RecognizeAttention.NAME, dev.kiln.passes.fusion.RecognizeAttention::new);
        register(dev.kiln.passes.fusion.FuseEpilogues.NAME, dev.kiln.passes.fusion.FuseEpilogues::new);
        register(dev.kiln.passes.fusion.FuseOperandViews.NAME, dev.kiln.passes.fusion.FuseOperandViews::new);
        register(dev.kiln.passes.fusion.FuseReductions.NAME, dev.kiln.passes.fusion.FuseReductions::new);
        register(dev.kiln.passes.fusion.FuseElementwise.NAME, dev.kiln.passes.fusion.FuseElementwise::new);
        register(dev.kiln.passes.fusion.GroupSingles.NAME, dev.kiln.passes.fusion.GroupSingles::new);
    }

    /** Adds a named pass (the fusion package does this for its passes). */
    public static synchronized void register(String name, Supplier<Pass> factory) { BY_NAME.put(name, factory); }

    public static synchronized List<String> names() { return List.copyOf(BY_NAME.keySet()); }

    /** A fresh pass by its name; an IllegalArgumentException listing the known names otherwise. */
    public static synchronized Pass byName(String name) {
        Supplier<Pass> f = BY_NAME.get(name.strip());
        if (f == null) throw new IllegalArgumentException("unknown pass '" + name.strip() + "'; known passes: " + String.join(", ", BY_NAME.keySet()));
        return f.get();
    }

    /** The passes of a comma-separated pipeline string, in order. */
    public static List<Pass> parse(String pipeline) {
        List<Pass> out = new ArrayList<>();
        for (String s : pipeline.split(",")) if (!s.isBlank()) out.add(byName(s));
        if (out.isEmpty()) throw new IllegalArgumentException("empty pipeline '" + pipeline + "'; known passes: " + String.join(", ", names()));
        return out;
    }
}
