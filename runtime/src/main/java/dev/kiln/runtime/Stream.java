package dev.kiln.runtime;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;

/**
 * A CUDA stream: work on it runs in order. Non-blocking, so it does not serialise with the legacy
 * default stream that other libraries in the process may use. Capture turns the launches between
 * {@link #beginCapture()} and {@link #endCapture()} into a {@link Graph} instead of running them.
 */
public final class Stream extends NativeResource {
    static final int NON_BLOCKING = 0x1;
    /** CU_STREAM_CAPTURE_MODE_THREAD_LOCAL: only this thread's unsafe calls abort the capture. */
    static final int CAPTURE_THREAD_LOCAL = 1;

    private final Context ctx;
    private final long handle;

    private Stream(Context ctx, long handle) {
        super("stream", () -> {
            ctx.bind();
            CudaDriver.cuStreamDestroy(handle);
        });
        this.ctx = ctx;
        this.handle = handle;
    }

    static Stream create(Context ctx) {
        ctx.bind();
        try (Arena a = Arena.ofConfined()) {
            var out = a.allocate(JAVA_LONG);
            ctx.check(CudaDriver.cuStreamCreate(out, NON_BLOCKING), "cuStreamCreate");
            return new Stream(ctx, out.get(JAVA_LONG, 0));
        }
    }

    public Context context() { return ctx; }

    /** The CUstream; also binds the context, since every caller is about to make a driver call with it. */
    public long handle() {
        checkOpen();
        ctx.bind();
        return handle;
    }

    public void synchronize() {
        ctx.check(CudaDriver.cuStreamSynchronize(handle()), "cuStreamSynchronize");
    }

    public void beginCapture() {
        ctx.check(CudaDriver.cuStreamBeginCapture(handle(), CAPTURE_THREAD_LOCAL), "cuStreamBeginCapture_v2");
    }

    /** Ends capture; the work captured since {@link #beginCapture()} becomes a graph that has not run yet. */
    public Graph endCapture() {
        try (Arena a = Arena.ofConfined()) {
            var out = a.allocate(JAVA_LONG);
            ctx.check(CudaDriver.cuStreamEndCapture(handle(), out), "cuStreamEndCapture");
            return new Graph(ctx, out.get(JAVA_LONG, 0));
        }
    }
}
