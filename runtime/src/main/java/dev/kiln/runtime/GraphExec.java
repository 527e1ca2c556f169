package dev.kiln.runtime;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;

/**
 * An instantiated graph: one {@link #launch} replays every captured kernel for about the cost of one
 * eager launch. When a new capture differs only in kernel arguments (new buffers, same kernels and
 * shapes), {@link #update} patches this executable in place instead of re-instantiating.
 */
public final class GraphExec extends NativeResource {
    /** CUgraphExecUpdateResultInfo: {result, errorNode, errorFromNode}. */
    private static final MemoryLayout UPDATE_INFO = MemoryLayout.structLayout(
            JAVA_INT.withName("result"), MemoryLayout.paddingLayout(4), ADDRESS.withName("errorNode"),
            ADDRESS.withName("errorFromNode"));

    private final Context ctx;
    private final long handle;

    GraphExec(Context ctx, long handle) {
        super("graph exec", () -> CudaDriver.cuGraphExecDestroy(handle));
        this.ctx = ctx;
        this.handle = handle;
    }

    public void launch(Stream stream) {
        checkOpen();
        ctx.check(CudaDriver.cuGraphLaunch(handle, stream.handle()), "cuGraphLaunch");
    }

    /**
     * Takes over the parameters of {@code graph}, which must have the same topology and kernels.
     * Throws {@link CudaException} (CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE, with the update result code in
     * the call name) when the change is more than parameters; then instantiate {@code graph} instead.
     */
    public void update(Graph graph) {
        checkOpen();
        ctx.bind();
        try (Arena a = Arena.ofConfined()) {
            var info = a.allocate(UPDATE_INFO);
            int r = CudaDriver.cuGraphExecUpdate(handle, graph.handle(), info);
            if (r != CuResult.SUCCESS) {
                ctx.check(r, "cuGraphExecUpdate_v2(updateResult=" + info.get(JAVA_INT, 0) + ")");
            }
        }
    }
}
