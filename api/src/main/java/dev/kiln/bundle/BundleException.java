package dev.kiln.bundle;

import dev.kiln.ir.KilnException;

/** A bundle file that cannot be used: damaged, truncated, not a Kiln bundle, or of another format version. */
public class BundleException extends KilnException {
    public BundleException(String message) { super(message); }
    public BundleException(String message, Throwable cause) { super(message, cause); }

    private BundleException(String message, String model, String node, String op, Throwable cause) {
        super(message, model, node, op, cause);
    }

    @Override protected KilnException copy(String message, String model, String node, String op) {
        return new BundleException(message, model, node, op, getCause());
    }
}
