package dev.kiln.codegen;

/**
 * Per-compilation settings and naming shared by templates, and the variants chosen for {@link Tunable}
 * templates (problem key -> variant name; empty means every template uses its heuristic).
 */
public final class CodegenContext {
    private final CodegenOptions options;
    private final java.util.Map<String, String> choices;
    private int next;

    public CodegenContext(CodegenOptions options) { this(options, java.util.Map.of()); }

    public CodegenContext(CodegenOptions options, java.util.Map<String, String> choices) {
        this.options = options;
        this.choices = java.util.Map.copyOf(choices);
    }

    public CodegenOptions options() { return options; }

    /** The variant chosen for a problem key, or null to use the template's heuristic. */
    public String choice(String problemKey) { return choices.get(problemKey); }

    /**
     * A provisional entry name such as {@code k3_elementwise}, unique in this compilation; {@link Codegen}
     * replaces it with a name derived from the kernel's source ({@link KernelNames}).
     */
    public String kernelName(String template) { return "k" + next++ + "_" + template.replaceAll("[^A-Za-z0-9_]", "_"); }
}
