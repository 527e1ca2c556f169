package dev.kiln.runtime;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Base of every object that owns a native handle. {@code close()} releases it once; a shared
 * {@link Cleaner} releases it if the owner is dropped without closing (the release action must not
 * capture the resource itself, or it would never become unreachable). Use after close throws
 * {@link ResourceClosedException} instead of handing a dangling handle to the driver.
 */
public abstract class NativeResource implements AutoCloseable {
    static final Cleaner CLEANER = Cleaner.create();

    private final String what;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Cleaner.Cleanable cleanable;

    protected NativeResource(String what, Runnable release) {
        this.what = what;
        this.cleanable = CLEANER.register(this, new Once(release));
    }

    /** Throws if closed; call at the top of every method that touches the handle. */
    protected final void checkOpen() {
        if (closed.get()) throw new ResourceClosedException(what);
    }

    public final boolean isClosed() {
        return closed.get();
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) cleanable.clean();
    }

    @Override
    public String toString() {
        return what + (isClosed() ? " (closed)" : "");
    }

    /** Swallows failures: a release from the Cleaner thread has nobody to report to. */
    private record Once(Runnable release) implements Runnable {
        public void run() {
            try {
                release.run();
            } catch (RuntimeException ignored) {
                // the context may already be gone; the driver then freed the memory with it
            }
        }
    }
}
