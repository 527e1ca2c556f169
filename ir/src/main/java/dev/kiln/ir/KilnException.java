package dev.kiln.ir;

/**
 * Root of every error Kiln reports to users. Each carries, where known, the model, node and op it concerns,
 * so the message reads "model m.onnx, node 'conv1' (Conv): ...". Subclasses say what kind of problem it is.
 */
public class KilnException extends RuntimeException {
    private final String model;
    private final String node;
    private final String op;

    public KilnException(String message) { this(message, null, null, null, null); }
    public KilnException(String message, Throwable cause) { this(message, null, null, null, cause); }

    protected KilnException(String message, String model, String node, String op, Throwable cause) {
        super(message, cause);
        this.model = model;
        this.node = node;
        this.op = op;
    }

    public String model() { return model; }
    public String node() { return node; }
    public String op() { return op; }
    /** The bare message, without the model/node/op prefix. */
    public String detail() { return super.getMessage(); }

    @Override public String getMessage() {
        StringBuilder b = new StringBuilder();
        if (model != null) b.append("model ").append(model);
        if (node != null) b.append(b.isEmpty() ? "" : ", ").append("node '").append(node).append('\'');
        if (op != null) b.append(node == null && !b.isEmpty() ? ", " : node == null ? "" : " ").append('(').append(op).append(')');
        return b.isEmpty() ? super.getMessage() : b + ": " + super.getMessage();
    }

    /** A copy of this error (same class) with the context filled in where it was missing. */
    public KilnException withContext(String model, String node, String op) {
        String m = this.model != null ? this.model : model;
        String n = this.node != null ? this.node : node;
        String o = this.op != null ? this.op : op;
        KilnException e = copy(detail(), m, n, o);
        e.setStackTrace(getStackTrace());
        return e;
    }

    protected KilnException copy(String message, String model, String node, String op) {
        return new KilnException(message, model, node, op, getCause());
    }
}
