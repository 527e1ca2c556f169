package dev.kiln.codegen;

/** Per-compilation settings and naming shared by templates. */
public final class CodegenContext {
    private final CodegenOptions options;
    private int next;

    public CodegenContext(CodegenOptions options) { this.options = options; }

    public CodegenOptions options() { return options; }

    /**
     * A provisional entry name such as {@code k3_elementwise}, unique in this compilation; {@link Codegen}
     * replaces it with a name derived from the kernel's source ({@link KernelNames}).
     */
    public String kernelName(String template) { return "k" + next++ + "_" + template.replaceAll("[^A-Za-z0-9_]", "_"); }
}
