package dev.kiln.runtime;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;

/**
 * The device's primary context (the one the CUDA runtime and PyTorch share), retained on open and released
 * on close. CUDA binds a context to a thread, so every object made from this one calls {@link #bind()}
 * before a driver call: it sets the context current on the calling thread when it is not already, which
 * lets any thread use the API. The per-thread check costs a ThreadLocal read; the call it saves is cheap
 * too, but launches are hot.
 */
public final class Context extends NativeResource {
    private static final ThreadLocal<Current> CURRENT = ThreadLocal.withInitial(Current::new);
    /** Bumped on every close so that threads drop a stale "already current" belief. */
    private static volatile int epoch;

    private final Device device;
    private final long handle;
    private final String label;
    private final CachingAllocator allocator;

    private Context(Device device, long handle) {
        super("context of " + device.label(), () -> CudaDriver.cuDevicePrimaryCtxRelease(device.handle()));
        this.device = device;
        this.handle = handle;
        this.label = device.label();
        this.allocator = new CachingAllocator(new DriverMemory(this), label);
    }

    /** Retains the primary context of device {@code ordinal}; throws {@link CudaUnavailableException} without a GPU. */
    public static Context open(int ordinal) {
        Device d = Device.get(ordinal);
        try (Arena a = Arena.ofConfined()) {
            var out = a.allocate(JAVA_LONG);
            CudaDriver.check(CudaDriver.cuDevicePrimaryCtxRetain(out, d.handle()), "cuDevicePrimaryCtxRetain", d.label());
            Context c = new Context(d, out.get(JAVA_LONG, 0));
            c.bind();
            return c;
        }
    }

    public Device device() { return device; }

    /** The label used in error messages, e.g. {@code device 0 (NVIDIA H200, sm_90)}. */
    public String label() { return label; }

    public long handle() { checkOpen(); return handle; }

    /** Makes this context current on the calling thread if it is not already. */
    public void bind() {
        checkOpen();
        Current c = CURRENT.get();
        int e = epoch;
        if (c.handle != handle || c.epoch != e) {
            CudaDriver.check(CudaDriver.cuCtxSetCurrent(handle), "cuCtxSetCurrent", label);
            c.handle = handle;
            c.epoch = e;
        }
    }

    /** Throws the {@link CudaException} for {@code result} with this context's device in the message. */
    void check(int result, String call) {
        if (result != CuResult.SUCCESS) throw CudaDriver.error(result, call, label);
    }

    /** Device memory from this context's caching allocator; closing the buffer returns it to the cache. */
    public DeviceBuffer allocate(long bytes) {
        bind();
        return allocator.allocate(this, bytes);
    }

    public CachingAllocator allocator() { return allocator; }

    public PinnedBuffer allocatePinned(long bytes) {
        return PinnedBuffer.allocate(this, bytes);
    }

    public Stream createStream() {
        return Stream.create(this);
    }

    public Event createEvent() {
        return Event.create(this, true);
    }

    /** Waits for all work on all streams of this context. */
    public void synchronize() {
        bind();
        check(CudaDriver.cuCtxSynchronize(), "cuCtxSynchronize");
    }

    /** Free and total device memory in bytes, as cuMemGetInfo_v2 reports them. */
    public long[] memoryInfo() {
        bind();
        try (Arena a = Arena.ofConfined()) {
            var free = a.allocate(JAVA_LONG);
            var total = a.allocate(JAVA_LONG);
            check(CudaDriver.cuMemGetInfo(free, total), "cuMemGetInfo_v2");
            return new long[] {free.get(JAVA_LONG, 0), total.get(JAVA_LONG, 0)};
        }
    }

    @Override
    public void close() {
        if (isClosed()) return;
        allocator.close();
        epoch++;
        CURRENT.get().handle = 0;
        super.close();
    }

    private static final class Current {
        long handle;
        int epoch = -1;
    }

    /** The allocator's view of cuMemAlloc/cuMemFree, bound to this context. */
    private record DriverMemory(Context ctx) implements CachingAllocator.Backend {
        public long allocate(long bytes) {
            ctx.bind();
            try (Arena a = Arena.ofConfined()) {
                var out = a.allocate(JAVA_LONG);
                ctx.check(CudaDriver.cuMemAlloc(out, bytes), "cuMemAlloc_v2(" + bytes + " bytes)");
                return out.get(JAVA_LONG, 0);
            }
        }

        public void free(long ptr) {
            ctx.bind();
            ctx.check(CudaDriver.cuMemFree(ptr), "cuMemFree_v2");
        }

        public boolean isOutOfMemory(RuntimeException e) {
            return e instanceof CudaException c && c.code() == 2;
        }
    }
}
