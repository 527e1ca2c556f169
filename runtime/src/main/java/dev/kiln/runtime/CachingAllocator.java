package dev.kiln.runtime;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Keeps freed device blocks for reuse, because cuMemAlloc/cuMemFree synchronise the device and cost
 * tens of microseconds each. Sizes are rounded up (512 B steps below 1 MiB, 2 MiB steps above) so that
 * nearby requests share blocks; a block is reused only for the same rounded size, which bounds waste at
 * one step. On out-of-memory the cache is emptied and the allocation retried once.
 */
public final class CachingAllocator implements AutoCloseable {

    /** Where blocks come from: the driver in production, a fake in unit tests. */
    public interface Backend {
        long allocate(long bytes);

        void free(long ptr);

        boolean isOutOfMemory(RuntimeException e);
    }

    static final long SMALL_STEP = 512;
    static final long LARGE_STEP = 2L << 20;
    static final long LARGE_FROM = 1L << 20;

    private final Backend backend;
    private final String label;
    private final Map<Long, ArrayDeque<Long>> cached = new HashMap<>();
    private final Map<Long, Long> live = new HashMap<>();
    private long cachedBytes;
    private long liveBytes;
    private long hits;
    private long misses;
    private boolean closed;

    public CachingAllocator(Backend backend, String label) {
        this.backend = backend;
        this.label = label;
    }

    public static long roundUp(long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("negative size " + bytes);
        long step = bytes < LARGE_FROM ? SMALL_STEP : LARGE_STEP;
        return Math.max(step, (bytes + step - 1) / step * step);
    }

    DeviceBuffer allocate(Context ctx, long bytes) {
        return new DeviceBuffer(ctx, this, acquire(bytes), bytes);
    }

    /** A block of at least {@code bytes}, from the cache when one of the same rounded size is free. */
    synchronized long acquire(long bytes) {
        if (closed) throw new ResourceClosedException("allocator of " + label);
        long size = roundUp(bytes);
        ArrayDeque<Long> q = cached.get(size);
        long ptr;
        if (q != null && !q.isEmpty()) {
            ptr = q.pop();
            cachedBytes -= size;
            hits++;
        } else {
            misses++;
            try {
                ptr = backend.allocate(size);
            } catch (RuntimeException e) {
                if (!backend.isOutOfMemory(e) || cachedBytes == 0) throw e;
                trim();
                ptr = backend.allocate(size);
            }
        }
        live.put(ptr, size);
        liveBytes += size;
        return ptr;
    }

    /** Returns a block to the cache. After {@link #close()} the block is already freed and this does nothing. */
    synchronized void release(long ptr) {
        if (closed) return;
        Long size = live.remove(ptr);
        if (size == null) throw new IllegalStateException("block 0x" + Long.toHexString(ptr) + " was not allocated here");
        liveBytes -= size;
        cached.computeIfAbsent(size, k -> new ArrayDeque<>()).push(ptr);
        cachedBytes += size;
    }

    synchronized boolean isClosed() {
        return closed;
    }

    /** Frees every cached (unused) block back to the driver. */
    public synchronized void trim() {
        for (var q : cached.values()) for (long p : q) backend.free(p);
        cached.clear();
        cachedBytes = 0;
    }

    public synchronized long cachedBytes() { return cachedBytes; }
    public synchronized long liveBytes() { return liveBytes; }
    public synchronized long hits() { return hits; }
    public synchronized long misses() { return misses; }

    /** Frees all blocks, live ones too: the context is going away, and buffers still open become unusable. */
    @Override
    public synchronized void close() {
        if (closed) return;
        trim();
        for (long p : live.keySet()) backend.free(p);
        live.clear();
        liveBytes = 0;
        closed = true;
    }
}
