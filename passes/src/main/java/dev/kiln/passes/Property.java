package dev.kiln.passes;

/** Facts about a graph that passes establish and later passes rely on. */
public enum Property {
    /** Every value has a static shape (the graph is specialized to concrete input shapes). */
    STATIC_SHAPES,
    /** Nodes whose inputs are all constants have been evaluated into constants. */
    CONSTANTS_FOLDED,
    /** Attention patterns have been matched into Attention ops. */
    ATTENTION_RECOGNIZED,
    /** Only ops with the PRIMITIVE trait (plus Attention) remain. */
    CANONICAL,
    /** Matmul/conv epilogues are in their contraction's group (fuse-epilogues ran), so later passes extend those groups. */
    EPILOGUES_FUSED,
    /** Every kernel-producing node is a Fused group of a known kind. */
    FUSED
}
