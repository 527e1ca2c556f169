package dev.kiln.codegen;

/**
 * A small indent-aware builder for CUDA C. Blocks are try-with-resources so braces always balance:
 * <pre>{@code
 * try (var b = src.block("if (i < n)")) { src.line("y[i] = x[i];"); }
 * }</pre>
 */
public final class CudaSource {
    private final StringBuilder out = new StringBuilder();
    private int depth;

    public CudaSource line(String text) {
        if (!text.isEmpty()) out.append("  ".repeat(depth)).append(text);
        out.append('\n');
        return this;
    }

    public CudaSource line(String format, Object... args) { return line(String.format(java.util.Locale.ROOT, format, args)); }

    public CudaSource comment(String text) {
        for (String l : text.split("\n")) line("// " + l);
        return this;
    }

    /** Opens {@code header {}; closing the returned handle closes the brace. */
    public Block block(String header) {
        line(header + " {");
        depth++;
        return new Block();
    }

    public final class Block implements AutoCloseable {
        private boolean closed;
        @Override public void close() {
            if (closed) return;
            closed = true;
            depth--;
            line("}");
        }
    }

    @Override public String toString() { return out.toString(); }
}
