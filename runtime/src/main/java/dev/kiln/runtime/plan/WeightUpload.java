package dev.kiln.runtime.plan;

import dev.kiln.runtime.Background;
import dev.kiln.runtime.Context;
import dev.kiln.runtime.DeviceBuffer;

import java.util.concurrent.CompletableFuture;

/**
 * A plan's weights block on its way to the GPU before the plan exists: the compiler knows the block once the memory
 * plan is made, and autotuning and codegen (seconds on a first compile) come after that, so the upload runs on a
 * thread of its own meanwhile instead of after them. {@link PlanExecutor} takes the uploaded buffer instead of
 * uploading again. The caller vouches that the block is the plan's: the same array the plan is built with.
 */
public final class WeightUpload implements AutoCloseable {
    private final long bytes;
    private final java.util.concurrent.atomic.AtomicLong nanos;
    private final CompletableFuture<DeviceBuffer> buffer;
    private boolean taken;

    private WeightUpload(long bytes, java.util.concurrent.atomic.AtomicLong nanos, CompletableFuture<DeviceBuffer> buffer) {
        this.bytes = bytes;
        this.nanos = nanos;
        this.buffer = buffer;
    }

    /** Starts copying {@code weights} into a new buffer of {@code ctx} on a thread of its own; the array must not change. */
    public static WeightUpload start(Context ctx, byte[] weights) {
        var took = new java.util.concurrent.atomic.AtomicLong();
        CompletableFuture<DeviceBuffer> f = Background.start("kiln-weights-upload", () -> {
            long t0 = System.nanoTime();
            DeviceBuffer d = ctx.allocate(Math.max(1, weights.length));
            try {
                if (weights.length > 0) d.upload(weights); // through pinned staging (StagedUpload) when large
            } catch (RuntimeException e) {
                d.close();
                throw e;
            }
            took.set(System.nanoTime() - t0);
            return d;
        });
        return new WeightUpload(weights.length, took, f);
    }

    /** The size of the block being uploaded. */
    public long bytes() { return bytes; }

    /** How long the upload took on its thread (0 until it is done). */
    public long nanos() { return nanos.get(); }

    /**
     * Waits for the upload and hands its buffer over (the caller closes it), or returns null when it failed (out of
     * memory, say: the caller then uploads itself and reports the error if that fails too) or holds another size.
     */
    synchronized DeviceBuffer take(long planWeightBytes) {
        if (taken) throw new IllegalStateException("the uploaded weights were taken already");
        taken = true;
        DeviceBuffer d = buffer.handle((b, e) -> b).join();
        if (d != null && planWeightBytes != bytes) {
            d.close();
            return null;
        }
        return d;
    }

    /** Frees the uploaded buffer unless it was taken (waiting for the upload to end first). */
    @Override public synchronized void close() {
        if (taken) return;
        taken = true;
        DeviceBuffer d = buffer.handle((b, e) -> b).join();
        if (d != null) d.close();
    }
}
