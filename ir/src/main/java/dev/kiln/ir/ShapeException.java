package dev.kiln.ir;

/** Shapes or types that do not fit an op's rule (wrong rank, mismatched broadcast...). */
public class ShapeException extends KilnException {
    public ShapeException(String message) { super(message); }
    public ShapeException(String message, Throwable cause) { super(message, cause); }

    protected ShapeException(String message, String model, String node, String op, Throwable cause) {
        super(message, model, node, op, cause);
    }

    @Override protected KilnException copy(String message, String model, String node, String op) {
        return new ShapeException(message, model, node, op, getCause());
    }
}
