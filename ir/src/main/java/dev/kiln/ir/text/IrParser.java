package dev.kiln.ir.text;

import dev.kiln.ir.Graph;
import dev.kiln.ir.Tensor;
import org.antlr.v4.runtime.CharStreams;
import org.antlr.v4.runtime.CommonTokenStream;

import java.util.function.Function;

/**
 * Reads the IR text form (docs/ir-text.md) back into a {@link Graph}. Works for any op name: it needs no op
 * definitions and infers nothing. Errors are {@link IrParseException}s with a line, a column and what was
 * expected.
 */
public final class IrParser {
    private IrParser() {}

    /**
     * A resolver that stands in zero tensors of the declared type for every resource the text references
     * but does not hold: for reading, diffing and checking dumps (which print weights by reference), not for
     * running them.
     */
    public static final Function<String, Tensor> PLACEHOLDERS = name -> null;

    /** Parses self-contained text (every {@code dense_resource} has its bytes in the {@code resources} section). */
    public static Graph parse(String text) { return parse(text, null); }

    /**
     * Parses text whose {@code dense_resource<...> @name} tensors come from the {@code resources} section or,
     * failing that, from {@code resolver} (may be null; returns null for unknown names).
     */
    public static Graph parse(String text, Function<String, Tensor> resolver) { return syntax(text).graph(resolver); }

    /**
     * The text parsed but not yet made a graph: the costly half of {@link #parse} (the parser builds its
     * prediction tables on first use, seconds in a fresh JVM for a 12-layer model), which needs no resources, so a
     * reader can run it while it reads the weights that {@link Syntax#graph} then resolves.
     */
    public static Syntax syntax(String text) {
        KilnIrLexer lexer = new KilnIrLexer(CharStreams.fromString(text));
        lexer.removeErrorListeners();
        lexer.addErrorListener(SyntaxErrors.INSTANCE);
        KilnIrParser parser = new KilnIrParser(new CommonTokenStream(lexer));
        parser.removeErrorListeners();
        parser.addErrorListener(SyntaxErrors.INSTANCE);
        return new Syntax(parser.module_());
    }

    /** Parsed IR text; {@link #graph} resolves its resources as {@link #parse(String, Function)} does. */
    public static final class Syntax {
        private final KilnIrParser.Module_Context tree;

        private Syntax(KilnIrParser.Module_Context tree) { this.tree = tree; }

        public Graph graph(Function<String, Tensor> resolver) { return GraphReader.read(tree, resolver); }
    }
}
