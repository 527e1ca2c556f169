package dev.kiln.runtime;

import java.lang.foreign.MemorySegment;

/**
 * Host-to-device copies of large blocks (weights) through two page-locked chunks used in turn: filling one
 * (a memcpy on the calling thread, from the Java heap or anywhere) overlaps the DMA of the other, and the DMA
 * from pinned memory runs at PCIe speed, about twice a pageable copy's. Pinning the whole block instead would
 * cost more than the copy (page-locking a gigabyte takes longer than moving it).
 */
public final class StagedUpload {
    private StagedUpload() {}

    /**
     * Chunk size; {@code -Dkiln.uploadChunkMiB=N} changes it (for measuring). 16 MiB: GPT-2's 236 MiB bundle uploaded
     * in 60 ms with 16 MiB chunks, 66 ms with 8 and 122-149 ms with 64 (H200, 2026-11-29), pinning two large chunks
     * costing more than the pipelining saved.
     */
    static final long CHUNK = Long.getLong("kiln.uploadChunkMiB", 16L) << 20;
    /** Below this, a plain pageable copy is as fast as setting up staging. */
    static final long MIN_STAGED = 4L << 20;

    /** Copies {@code src} to the start of {@code dst} on {@code stream} and waits until it is there. */
    public static void copy(Context ctx, MemorySegment src, DeviceBuffer dst, Stream stream) {
        long size = src.byteSize();
        if (size == 0) return;
        if (size > dst.size()) throw new IllegalArgumentException(size + " bytes do not fit in a buffer of " + dst.size());
        long chunk = Math.min(CHUNK, size);
        int n = size > chunk ? 2 : 1;
        PinnedBuffer[] staging = new PinnedBuffer[n];
        Event[] free = new Event[n];
        try {
            for (int b = 0; b < n; b++) {
                staging[b] = ctx.allocatePinned(chunk);
                free[b] = Event.create(ctx, false);
            }
            int i = 0;
            for (long at = 0; at < size; at += chunk, i++) {
                int b = i % n;
                if (i >= n) free[b].synchronize(); // the DMA that last read this chunk is done
                long len = Math.min(chunk, size - at);
                MemorySegment stage = staging[b].segment().asSlice(0, len);
                MemorySegment.copy(src, at, stage, 0, len);
                dst.copyFromHostAsync(at, stage, stream);
                free[b].record(stream);
            }
            stream.synchronize();
        } catch (RuntimeException e) {
            try {
                stream.synchronize(); // no DMA may still read a chunk that is about to be freed
            } catch (RuntimeException ignored) {
                // the first error is the one to report
            }
            throw e;
        } finally {
            for (int b = 0; b < n; b++) {
                if (free[b] != null) free[b].close();
                if (staging[b] != null) staging[b].close();
            }
        }
    }
}
