package dev.kiln.ir;

/** The IR breaks an invariant the verifier checks (SSA, types, op arity). */
public class VerifyException extends KilnException {
    public VerifyException(String message) { super(message); }
    public VerifyException(String message, Throwable cause) { super(message, cause); }

    protected VerifyException(String message, String model, String node, String op, Throwable cause) {
        super(message, model, node, op, cause);
    }

    @Override protected KilnException copy(String message, String model, String node, String op) {
        return new VerifyException(message, model, node, op, getCause());
    }
}
