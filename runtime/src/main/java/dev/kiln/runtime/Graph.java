package dev.kiln.runtime;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;

/** A captured CUDA graph (from {@link Stream#endCapture()}); instantiate it to run it. */
public final class Graph extends NativeResource {
    private final Context ctx;
    private final long handle;

    Graph(Context ctx, long handle) {
        super("graph", () -> CudaDriver.cuGraphDestroy(handle));
        this.ctx = ctx;
        this.handle = handle;
    }

    long handle() {
        checkOpen();
        return handle;
    }

    /** Builds the executable graph; the Graph itself may be closed afterwards. */
    public GraphExec instantiate() {
        ctx.bind();
        try (Arena a = Arena.ofConfined()) {
            var out = a.allocate(JAVA_LONG);
            ctx.check(CudaDriver.cuGraphInstantiate(out, handle(), 0L), "cuGraphInstantiateWithFlags");
            return new GraphExec(ctx, out.get(JAVA_LONG, 0));
        }
    }
}
