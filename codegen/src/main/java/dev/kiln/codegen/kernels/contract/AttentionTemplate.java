package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.KernelTemplate;
import dev.kiln.codegen.Tunable;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;

import java.util.List;
import java.util.Set;

/**
 * Fused kind {@code attention}: one ONNX Attention in the 4-D form Q[B,Hq,S,D], K[B,Hkv,L,D], V[B,Hkv,L,Dv]
 * (read through strided views, so a fused head split or Q/K/V slice costs nothing), with optional attn_mask
 * (bool keep-mask or additive, broadcast to [B,Hq,S,L]; key columns past the mask's last axis are masked, as
 * in the reference), is_causal (query i sees keys j <= i), scale, softcap and GQA, plus an optional
 * elementwise epilogue and store view. f16/bf16 with head sizes that are multiples of 16 up to 256 run
 * FlashAttention-2 on tensor cores ({@link FlashAttention}, tile chosen by {@link FlashConfig#choose}); f32,
 * f64 and other head sizes run the exact SIMT kernel ({@link AttentionSimt}).
 */
public final class AttentionTemplate implements KernelTemplate, Tunable {
    @Override public String name() { return "attention"; }

    @Override public boolean accepts(Node node, Graph graph) { return FusedBody.isKind(node, "attention"); }

    @Override public List<KernelSpec> emit(Node node, Graph graph, CodegenContext context) {
        FusedBody fb = FusedBody.of(node, Set.of("Attention"));
        AttentionProblem p = AttentionProblem.of(node, fb);
        if (p.b() * p.hq() * p.s() * p.dv() == 0) return List.of();
        String entry = context.kernelName(name());
        if (!FlashAttention.supports(p, context.options())) return List.of(AttentionSimt.emit(fb, p, entry));
        return List.of(FlashAttention.emit(fb, p, tile(p, context.options(), context.choice(key(fb, p))), context.options(), entry));
    }

    /** The autotune stage's choice when it is a tile that fits, else the heuristic's. */
    private static FlashConfig tile(AttentionProblem p, dev.kiln.codegen.CodegenOptions o, String chosen) {
        if (chosen != null) {
            try {
                FlashConfig c = FlashConfig.parse(chosen);
                if (c.fits(p.d(), p.dv()) && (!c.wgmma() || FlashWgmma.supports(p, o))) return c;
            } catch (IllegalArgumentException ignored) {
                // a choice from an older Kiln: fall back to the heuristic
            }
        }
        return FlashConfig.choose(p.b() * p.hq(), p.s(), p.l(), p.d(), p.dv());
    }

    @Override public String problemKey(Node node, Graph graph, CodegenContext context) {
        FusedBody fb = FusedBody.of(node, Set.of("Attention"));
        return key(fb, AttentionProblem.of(node, fb));
    }

    private static String key(FusedBody fb, AttentionProblem p) { return describe(fb, p); }

    /**
     * The heuristic's tile first, then every other tile that fits, nearest in query rows, keys, Q placement,
     * softmax and stages first (so a fast tuning run tries the heuristic's neighbours: the same tile with eight
     * warps, a third stage, the lean softmax); none for the SIMT kernel.
     */
    @Override public List<String> candidates(Node node, Graph graph, CodegenContext context) {
        FusedBody fb = FusedBody.of(node, Set.of("Attention"));
        AttentionProblem p = AttentionProblem.of(node, fb);
        if (!FlashAttention.supports(p, context.options()) || p.b() * p.hq() * p.s() * p.dv() == 0) return List.of();
        FlashConfig h = FlashConfig.choose(p.b() * p.hq(), p.s(), p.l(), p.d(), p.dv());
        List<FlashConfig> rest = new java.util.ArrayList<>(FlashConfig.candidates(p.d(), p.dv()));
        rest.remove(h);
        rest.sort(java.util.Comparator.<FlashConfig>comparingInt(c -> Math.abs(c.blockM() - h.blockM()))
                .thenComparingInt(c -> Math.abs(c.blockN() - h.blockN())).thenComparing(c -> c.qInRegs() != h.qInRegs())
                .thenComparingInt(c -> Math.abs(c.qKept() - h.qKept())).thenComparing(c -> c.lean() != h.lean())
                .thenComparingInt(c -> Math.abs(c.stages() - h.stages())));
        List<String> r = new java.util.ArrayList<>(List.of(h.toString()));
        for (FlashConfig c : rest) r.add(c.toString());
        return r;
    }

    /**
     * The tensor-core kernel with a given tile, for benchmarks and autotuning; {@code config} null means the
     * exact SIMT kernel. Throws IllegalArgumentException when the problem or the tile does not suit it.
     */
    public static KernelSpec emit(Node node, CodegenContext context, FlashConfig config) {
        FusedBody fb = FusedBody.of(node, Set.of("Attention"));
        AttentionProblem p = AttentionProblem.of(node, fb);
        String entry = context.kernelName("attention");
        if (config == null) return AttentionSimt.emit(fb, p, entry);
        if (!FlashAttention.supports(p, context.options())) throw new IllegalArgumentException("no tensor-core attention for " + describe(fb, p));
        return FlashAttention.emit(fb, p, config, context.options(), entry);
    }

    /** The tile {@link #emit(Node, Graph, CodegenContext)} picks for this node, or null for the SIMT kernel. */
    public static FlashConfig chosenConfig(Node node, CodegenContext context) {
        FusedBody fb = FusedBody.of(node, Set.of("Attention"));
        AttentionProblem p = AttentionProblem.of(node, fb);
        return FlashAttention.supports(p, context.options()) ? FlashConfig.choose(p.b() * p.hq(), p.s(), p.l(), p.d(), p.dv()) : null;
    }

    /** The kernel's second comment line: operand types and options. */
    static String describe(FusedBody fb, AttentionProblem p) {
        Node at = fb.main();
        return "Attention Q " + at.input(0).type() + " K " + at.input(1).type() + " V " + at.input(2).type()
                + (p.causal() ? ", causal" : "") + (at.hasInput(3) ? ", mask " + at.input(3).type() : "")
                + (p.softcap() > 0 ? ", softcap " + p.softcap() : "") + (p.group() > 1 ? ", " + p.group() + " query heads per kv head" : "");
    }
}
