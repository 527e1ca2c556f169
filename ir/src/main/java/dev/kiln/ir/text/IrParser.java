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
    public static Graph parse(String text, Function<String, Tensor> resolver) {
        KilnIrLexer lexer = new KilnIrLexer(CharStreams.fromString(text));
        lexer.removeErrorListeners();
        lexer.addErrorListener(SyntaxErrors.INSTANCE);
        KilnIrParser parser = new KilnIrParser(new CommonTokenStream(lexer));
        parser.removeErrorListeners();
        parser.addErrorListener(SyntaxErrors.INSTANCE);
        return GraphReader.read(parser.module_(), resolver);
    }
}
