package dev.kiln.runtime;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A block of device memory from a context's {@link CachingAllocator}. Closing it returns the block to the
 * cache (not to the driver). Sync copies block the calling thread; async ones are ordered on a {@link Stream}
 * and, from host memory, only overlap when the host side is a {@link PinnedBuffer}.
 */
public final class DeviceBuffer extends NativeResource {
    private final Context ctx;
    private final CachingAllocator owner;
    private final long ptr;
    private final long size;

    DeviceBuffer(Context ctx, CachingAllocator owner, long ptr, long size) {
        super("device buffer of " + size + " bytes", () -> owner.release(ptr));
        this.ctx = ctx;
        this.owner = owner;
        this.ptr = ptr;
        this.size = size;
    }

    /** The CUdeviceptr, e.g. for {@link KernelArgs#pointer}. */
    public long address() {
        checkOpen();
        if (owner.isClosed()) throw new ResourceClosedException("device buffer (its context was closed)");
        return ptr;
    }

    public long size() { return size; }

    private long bound() {
        long p = address();
        ctx.bind();
        return p;
    }

    private void fits(long bytes) {
        if (bytes > size) throw new IllegalArgumentException(bytes + " bytes do not fit in a buffer of " + size);
    }

    public void copyFromHost(MemorySegment src) {
        fits(src.byteSize());
        ctx.check(CudaDriver.cuMemcpyHtoD(bound(), src, src.byteSize()), "cuMemcpyHtoD_v2");
    }

    public void copyToHost(MemorySegment dst) {
        fits(dst.byteSize());
        ctx.check(CudaDriver.cuMemcpyDtoH(dst, bound(), dst.byteSize()), "cuMemcpyDtoH_v2");
    }

    public void copyFromHostAsync(MemorySegment src, Stream stream) {
        fits(src.byteSize());
        ctx.check(CudaDriver.cuMemcpyHtoDAsync(bound(), src, src.byteSize(), stream.handle()), "cuMemcpyHtoDAsync_v2");
    }

    /** Copies {@code src} to {@code offset} bytes into this buffer, ordered on {@code stream}. */
    public void copyFromHostAsync(long offset, MemorySegment src, Stream stream) {
        if (offset < 0 || offset + src.byteSize() > size)
            throw new IllegalArgumentException(src.byteSize() + " bytes at " + offset + " do not fit in a buffer of " + size);
        ctx.check(CudaDriver.cuMemcpyHtoDAsync(bound() + offset, src, src.byteSize(), stream.handle()), "cuMemcpyHtoDAsync_v2");
    }

    public void copyToHostAsync(MemorySegment dst, Stream stream) {
        fits(dst.byteSize());
        ctx.check(CudaDriver.cuMemcpyDtoHAsync(dst, bound(), dst.byteSize(), stream.handle()), "cuMemcpyDtoHAsync_v2");
    }

    /** Copies {@code bytes} from {@code src} (device to device), synchronously. */
    public void copyFrom(DeviceBuffer src, long bytes) {
        fits(bytes);
        src.fits(bytes);
        ctx.check(CudaDriver.cuMemcpyDtoD(bound(), src.address(), bytes), "cuMemcpyDtoD_v2");
    }

    public void copyFromAsync(DeviceBuffer src, long bytes, Stream stream) {
        fits(bytes);
        src.fits(bytes);
        ctx.check(CudaDriver.cuMemcpyDtoDAsync(bound(), src.address(), bytes, stream.handle()), "cuMemcpyDtoDAsync_v2");
    }

    /**
     * Fills the rest of this buffer with copies of its first {@code prefix} bytes, ordered on {@code stream}: one
     * device copy per doubling, so a large buffer of test data costs its first block on the host, not all of it.
     */
    public void repeatPrefixAsync(long prefix, Stream stream) {
        if (prefix <= 0 || prefix > size) throw new IllegalArgumentException("prefix of " + prefix + " bytes in a buffer of " + size);
        for (long have = prefix; have < size; have *= 2) {
            long n = Math.min(have, size - have); // [0, n) and [have, have + n) never overlap: n <= have
            ctx.check(CudaDriver.cuMemcpyDtoDAsync(bound() + have, bound(), n, stream.handle()), "cuMemcpyDtoDAsync_v2");
        }
    }

    /** Sets every byte to {@code value}, ordered on {@code stream}. */
    public void fillAsync(byte value, Stream stream) {
        ctx.check(CudaDriver.cuMemsetD8Async(bound(), value & 0xff, size, stream.handle()), "cuMemsetD8Async");
    }

    public void upload(float[] values) {
        try (Arena a = Arena.ofConfined()) {
            copyFromHost(a.allocateFrom(JAVA_FLOAT, values));
        }
    }

    public float[] downloadFloats(int count) {
        try (Arena a = Arena.ofConfined()) {
            var seg = a.allocate(JAVA_FLOAT, count);
            copyToHost(seg);
            return seg.toArray(JAVA_FLOAT);
        }
    }

    /** Copies {@code values} to the start of this buffer; large arrays go through pinned staging ({@link StagedUpload}). */
    public void upload(byte[] values) {
        if (values.length >= StagedUpload.MIN_STAGED) {
            try (Stream s = ctx.createStream()) {
                StagedUpload.copy(ctx, MemorySegment.ofArray(values), this, s);
            }
            return;
        }
        try (Arena a = Arena.ofConfined()) {
            copyFromHost(a.allocateFrom(JAVA_BYTE, values));
        }
    }

    public byte[] downloadBytes(int count) {
        try (Arena a = Arena.ofConfined()) {
            var seg = a.allocate(count);
            copyToHost(seg);
            return seg.toArray(JAVA_BYTE);
        }
    }
}
