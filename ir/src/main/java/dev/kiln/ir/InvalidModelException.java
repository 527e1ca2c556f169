package dev.kiln.ir;

/** The input (model file, tensor, graph) is malformed or inconsistent. */
public class InvalidModelException extends KilnException {
    public InvalidModelException(String message) { super(message); }
    public InvalidModelException(String message, Throwable cause) { super(message, cause); }

    protected InvalidModelException(String message, String model, String node, String op, Throwable cause) {
        super(message, model, node, op, cause);
    }

    @Override protected KilnException copy(String message, String model, String node, String op) {
        return new InvalidModelException(message, model, node, op, getCause());
    }
}
