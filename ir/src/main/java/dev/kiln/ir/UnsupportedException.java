package dev.kiln.ir;

/** A valid construct Kiln does not support (yet): an op, an attribute value, a dtype. */
public class UnsupportedException extends KilnException {
    public UnsupportedException(String message) { super(message); }
    public UnsupportedException(String message, Throwable cause) { super(message, cause); }

    protected UnsupportedException(String message, String model, String node, String op, Throwable cause) {
        super(message, model, node, op, cause);
    }

    @Override protected KilnException copy(String message, String model, String node, String op) {
        return new UnsupportedException(message, model, node, op, getCause());
    }
}
