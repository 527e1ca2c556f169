package dev.kiln.ir;

/** The reference interpreter could not evaluate a node (bad runtime input, missing value). */
public class EvaluationException extends KilnException {
    public EvaluationException(String message) { super(message); }
    public EvaluationException(String message, Throwable cause) { super(message, cause); }

    protected EvaluationException(String message, String model, String node, String op, Throwable cause) {
        super(message, model, node, op, cause);
    }

    @Override protected KilnException copy(String message, String model, String node, String op) {
        return new EvaluationException(message, model, node, op, getCause());
    }
}
