package dev.kiln.runtime;

/** Thrown when a native object is used after {@code close()}; the handle may already belong to someone else. */
public final class ResourceClosedException extends IllegalStateException {
    public ResourceClosedException(String what) {
        super(what + " is closed");
    }
}
