package dev.kiln.ir.text;

import dev.kiln.ir.KilnException;

/** A syntax or consistency error in IR text, at a 1-based line and column. */
public class IrParseException extends KilnException {
    private final int line;
    private final int column;
    private final String reason;

    public IrParseException(String reason, int line, int column) {
        this(reason, line, column, null, null, null);
    }

    private IrParseException(String reason, int line, int column, String model, String node, String op) {
        super("line " + line + ", column " + column + ": " + reason, model, node, op, null);
        this.line = line;
        this.column = column;
        this.reason = reason;
    }

    /** 1-based line of the offending text. */
    public int line() { return line; }
    /** 1-based column (in characters) of the offending text. */
    public int column() { return column; }
    /** The message without its position. */
    public String reason() { return reason; }

    @Override protected KilnException copy(String message, String model, String node, String op) {
        return new IrParseException(reason, line, column, model, node, op);
    }
}
