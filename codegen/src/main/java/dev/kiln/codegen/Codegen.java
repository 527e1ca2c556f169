package dev.kiln.codegen;

import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.UnsupportedException;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Turns a fused graph into kernels, in launch order: for each node that computes something (not a Constant,
 * not a view), the first template that accepts it emits its kernels, which are then named by content
 * ({@link KernelNames}), so repeated layers yield identical kernels. Reads the IR only.
 */
public final class Codegen {
    private final List<KernelTemplate> templates;
    private final Predicate<Node> isView;

    /**
     * @param templates tried in order; put faster, more specific templates first
     * @param isView    nodes that need no kernel because their output aliases their input
     */
    public Codegen(List<KernelTemplate> templates, Predicate<Node> isView) {
        this.templates = List.copyOf(templates);
        this.isView = isView;
    }

    public List<KernelTemplate> templates() { return templates; }

    /**
     * {@code -Dkiln.leanPrelude=true}: kernels that use no f16/bf16 type leave out {@code cuda_fp16.h} and
     * {@code cuda_bf16.h}, which NVRTC otherwise parses for every kernel. Off until measured on a GPU
     * (docs/performance.md, Cold start).
     */
    static final boolean LEAN_PRELUDE = Boolean.getBoolean("kiln.leanPrelude");

    public List<KernelSpec> generate(Graph g, CodegenOptions options) { return generate(g, new CodegenContext(options)); }

    /** With the variants chosen for tunable templates in {@code ctx} (see {@link Tunable}). */
    public List<KernelSpec> generate(Graph g, CodegenContext ctx) {
        return generateByNode(g, ctx).stream().map(Emitted::spec).toList();
    }

    /** One generated kernel and the node of the graph it was made for (a node may make several). */
    public record Emitted(Node node, KernelSpec spec) {}

    /** As {@link #generate}, each kernel paired with its node: profiles cost kernels from their node's IR. */
    public List<Emitted> generateByNode(Graph g, CodegenOptions options) { return generateByNode(g, new CodegenContext(options)); }

    public List<Emitted> generateByNode(Graph g, CodegenContext ctx) {
        List<Emitted> out = new ArrayList<>();
        for (Node n : kernelNodes(g)) {
            try {
                for (KernelSpec k : emit(n, g, ctx)) out.add(new Emitted(n, k));
            } catch (UnsupportedException e) {
                throw e.withContext(g.name(), n.label(), n.op());
            }
        }
        return out;
    }

    /**
     * One node's kernels exactly as {@link #generateByNode} makes them (canonical names): the autotuner emits its
     * candidates through here, so the winner's binary is the final kernel's and the kernel cache already has it.
     */
    public List<KernelSpec> emit(Node n, Graph g, CodegenContext ctx) {
        KernelTemplate t = templateFor(n, g);
        List<KernelSpec> out = new ArrayList<>();
        for (KernelSpec k : t.emit(n, g, ctx)) out.add(KernelNames.canonical(LEAN_PRELUDE ? CTypes.withoutUnusedHeaders(k) : k, t.name()));
        return out;
    }

    /** The nodes that get kernels, in launch order (not Constants, not views). */
    public List<Node> kernelNodes(Graph g) {
        List<Node> out = new ArrayList<>();
        for (Node n : g.nodes()) if (!n.op().equals("Constant") && !isView.test(n)) out.add(n);
        return out;
    }

    /** The first template that accepts {@code n}; a typed error naming the node when none does. */
    public KernelTemplate templateFor(Node n, Graph g) {
        return templates.stream().filter(k -> k.accepts(n, g)).findFirst().orElseThrow(() ->
                n.error(new UnsupportedException("no GPU kernel for " + describe(n)
                        + "; run this model with the reference backend (--backend reference)")));
    }

    private static String describe(Node n) {
        return n.op().equals("Fused") ? "fused group of kind '" + n.attrString("kind", "?") + "'" : "op " + n.op();
    }

    /**
     * The kernel's first comment line as templates write it: the ONNX nodes it absorbed. Codegen takes it out
     * of the shared source and keeps it per launch ({@link KernelSpec#origins}); dumps put it back.
     */
    public static String originComment(Node n) {
        return "Kiln kernel for " + (n.origin().isEmpty() ? n.op() : n.origin());
    }
}
