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
        return heuristic(p, o);
    }

    /** The wgmma tiles that came next on the H200 (same file), timed after the heuristic's by a fast tuning run. */
    private static final List<String> WGMMA_RIVALS = List.of("m128w8n128g", "m128w8n64gp4", "m128w8n128gp3", "m128w8n128gp4");

    /**
     * The heuristic's tile: on sm_90, when 128-row blocks fill the SMs and D = Dv is 64 or 128, the wgmma tile the
     * H200 measured fastest (bench/results/2026-11-29-h200-s5/attention_wgmma.txt: at B1 H32 S8192 D128
     * m128w8n128gp3 1.29x SDPA, causal 1.32x; at B8 H16 S1024 D64 m128w8n64gp4 1.24x, causal 1.29x, where the
     * mma.sync tiles reach 0.98x and 1.01-1.06x); otherwise {@link #mmaTile} (short sequences such as BERT's 128
     * or ViT's 145 leave 128-row blocks too few to fill the GPU).
     */
    static FlashConfig heuristic(AttentionProblem p, dev.kiln.codegen.CodegenOptions o) {
        long blocks = p.b() * p.hq() * ((p.s() + 127) / 128);
        if (FlashWgmma.supports(p, o) && p.d() == p.dv() && blocks >= FlashConfig.SMS && (p.d() == 64 || p.d() == 128)) {
            FlashConfig c = FlashConfig.parse(p.d() == 128 ? "m128w8n128gp3" : "m128w8n64gp4");
            if (FlashWgmma.fits(c, p.d(), p.dv())) return c;
        }
        return mmaTile(p);
    }

    /** {@link FlashConfig#choose}'s mma.sync tile for this problem. */
    private static FlashConfig mmaTile(AttentionProblem p) { return FlashConfig.choose(p.b() * p.hq(), p.s(), p.l(), p.d(), p.dv()); }

    @Override public String problemKey(Node node, Graph graph, CodegenContext context) {
        FusedBody fb = FusedBody.of(node, Set.of("Attention"));
        return key(fb, AttentionProblem.of(node, fb));
    }

    private static String key(FusedBody fb, AttentionProblem p) { return describe(fb, p); }

    /**
     * The heuristic's tile first; when that is a wgmma tile, two measured wgmma rivals and the mma.sync tile next (so
     * a fast tuning run, the first four, also times the mma.sync kernel); then every other tile that fits, nearest to
     * the mma.sync tile in query rows, keys, Q placement, softmax and stages first (its neighbours: the same tile
     * with eight warps, a third stage, the lean softmax); none for the SIMT kernel.
     */
    @Override public List<String> candidates(Node node, Graph graph, CodegenContext context) {
        FusedBody fb = FusedBody.of(node, Set.of("Attention"));
        AttentionProblem p = AttentionProblem.of(node, fb);
        if (!FlashAttention.supports(p, context.options()) || p.b() * p.hq() * p.s() * p.dv() == 0) return List.of();
        FlashConfig first = heuristic(p, context.options()), h = mmaTile(p);
        List<String> r = new java.util.ArrayList<>(List.of(first.toString()));
        if (!first.equals(h)) {
            for (String t : WGMMA_RIVALS) {
                FlashConfig c = FlashConfig.parse(t);
                if (r.size() < 3 && !c.equals(first) && FlashWgmma.fits(c, p.d(), p.dv())) r.add(t); // two, so the mma.sync tile is fourth
            }
            r.add(h.toString());
        }
        List<FlashConfig> rest = new java.util.ArrayList<>(FlashConfig.candidates(p.d(), p.dv()));
        rest.remove(h);
        rest.sort(java.util.Comparator.<FlashConfig>comparingInt(c -> Math.abs(c.blockM() - h.blockM()))
                .thenComparingInt(c -> Math.abs(c.blockN() - h.blockN())).thenComparing(c -> c.qInRegs() != h.qInRegs())
                .thenComparingInt(c -> Math.abs(c.qKept() - h.qKept())).thenComparing(c -> c.lean() != h.lean())
                .thenComparingInt(c -> Math.abs(c.stages() - h.stages())));
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
        return FlashAttention.supports(p, context.options()) ? heuristic(p, context.options()) : null;
    }

    /** The kernel's second comment line: operand types and options. */
    static String describe(FusedBody fb, AttentionProblem p) {
        Node at = fb.main();
        return "Attention Q " + at.input(0).type() + " K " + at.input(1).type() + " V " + at.input(2).type()
                + (p.causal() ? ", causal" : "") + (at.hasInput(3) ? ", mask " + at.input(3).type() : "")
                + (p.softcap() > 0 ? ", softcap " + p.softcap() : "") + (p.group() > 1 ? ", " + p.group() + " query heads per kv head" : "");
    }
}
