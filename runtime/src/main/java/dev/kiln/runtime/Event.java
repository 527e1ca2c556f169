package dev.kiln.runtime;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;

/** A CUDA event, for timing device work (record one before and one after, then {@link #elapsedMillis}). */
public final class Event extends NativeResource {
    static final int DISABLE_TIMING = 0x2;

    private final Context ctx;
    private final long handle;

    private Event(Context ctx, long handle) {
        super("event", () -> {
            ctx.bind();
            CudaDriver.cuEventDestroy(handle);
        });
        this.ctx = ctx;
        this.handle = handle;
    }

    static Event create(Context ctx, boolean timing) {
        ctx.bind();
        try (Arena a = Arena.ofConfined()) {
            var out = a.allocate(JAVA_LONG);
            ctx.check(CudaDriver.cuEventCreate(out, timing ? 0 : DISABLE_TIMING), "cuEventCreate");
            return new Event(ctx, out.get(JAVA_LONG, 0));
        }
    }

    long handle() {
        checkOpen();
        return handle;
    }

    public void record(Stream stream) {
        ctx.check(CudaDriver.cuEventRecord(handle(), stream.handle()), "cuEventRecord");
    }

    public void synchronize() {
        ctx.bind();
        ctx.check(CudaDriver.cuEventSynchronize(handle()), "cuEventSynchronize");
    }

    /** Milliseconds between {@code start} and this event, both recorded; waits for this event first. */
    public float elapsedMillis(Event start) {
        synchronize();
        try (Arena a = Arena.ofConfined()) {
            var ms = a.allocate(JAVA_FLOAT);
            ctx.check(CudaDriver.cuEventElapsedTime(ms, start.handle(), handle()), "cuEventElapsedTime_v2");
            return ms.get(JAVA_FLOAT, 0);
        }
    }
}
