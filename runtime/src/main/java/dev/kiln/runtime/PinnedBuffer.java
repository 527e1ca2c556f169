package dev.kiln.runtime;

import static java.lang.foreign.ValueLayout.ADDRESS;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Page-locked host memory (cuMemHostAlloc): the only host memory an async copy can overlap with other
 * work, and about twice as fast to copy as pageable memory. Read and write it through {@link #segment()}.
 */
public final class PinnedBuffer extends NativeResource {
    /** CU_MEMHOSTALLOC_PORTABLE: usable from every context, so a buffer outlives which context is current. */
    static final int PORTABLE = 0x1;

    private final MemorySegment segment;

    private PinnedBuffer(Context ctx, MemorySegment segment) {
        super("pinned buffer of " + segment.byteSize() + " bytes", () -> {
            ctx.bind();
            CudaDriver.cuMemFreeHost(segment);
        });
        this.segment = segment;
    }

    static PinnedBuffer allocate(Context ctx, long bytes) {
        ctx.bind();
        try (Arena a = Arena.ofConfined()) {
            var out = a.allocate(ADDRESS);
            ctx.check(CudaDriver.cuMemHostAlloc(out, bytes, PORTABLE), "cuMemHostAlloc(" + bytes + " bytes)");
            return new PinnedBuffer(ctx, out.get(ADDRESS, 0).reinterpret(bytes));
        }
    }

    /** The host memory; do not keep it past {@link #close()}, after which touching it would crash. */
    public MemorySegment segment() {
        checkOpen();
        return segment;
    }

    public long size() { return segment.byteSize(); }
}
