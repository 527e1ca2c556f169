package dev.kiln.runtime;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A loaded CUDA module (cuModuleLoadData) and its kernels. Named CudaModule, not Module, so that it does
 * not shadow {@link java.lang.Module} in this package.
 */
public final class CudaModule extends NativeResource {
    private final Context ctx;
    private final long handle;
    private final ConcurrentHashMap<String, Kernel> kernels = new ConcurrentHashMap<>();

    private CudaModule(Context ctx, long handle) {
        super("module", () -> {
            ctx.bind();
            CudaDriver.cuModuleUnload(handle);
        });
        this.ctx = ctx;
        this.handle = handle;
    }

    /** Loads a CUBIN, fatbin or PTX image; PTX text gets the NUL terminator the driver expects. */
    public static CudaModule load(Context ctx, byte[] image) {
        ctx.bind();
        try (Arena a = Arena.ofConfined()) {
            var img = a.allocate(image.length + 1L, 16);
            img.copyFrom(java.lang.foreign.MemorySegment.ofArray(image));
            img.set(JAVA_BYTE, image.length, (byte) 0);
            var out = a.allocate(JAVA_LONG);
            ctx.check(CudaDriver.cuModuleLoadData(out, img), "cuModuleLoadData");
            return new CudaModule(ctx, out.get(JAVA_LONG, 0));
        }
    }

    /**
     * Loads a compiled kernel: the CUBIN when there is one (no JIT), else the PTX, which the driver JITs
     * (and caches) for this GPU. A CUBIN built for another GPU fails with NO_BINARY_FOR_GPU; PTX then rescues it.
     */
    public static CudaModule load(Context ctx, CompiledKernel compiled) {
        if (compiled.cubin().length > 0) {
            try {
                return load(ctx, compiled.cubin());
            } catch (CudaException e) {
                if (compiled.ptx().length == 0) throw e;
            }
        }
        return load(ctx, compiled.ptx());
    }

    /** The {@code extern "C"} kernel of that name; looked up once and remembered. */
    public Kernel kernel(String name) {
        checkOpen();
        return kernels.computeIfAbsent(name, n -> {
            ctx.bind();
            try (Arena a = Arena.ofConfined()) {
                var out = a.allocate(JAVA_LONG);
                ctx.check(CudaDriver.cuModuleGetFunction(out, handle, a.allocateFrom(n)), "cuModuleGetFunction(" + n + ")");
                return new Kernel(this, ctx, n, out.get(JAVA_LONG, 0));
            }
        });
    }

    void checkUsable() {
        checkOpen();
    }
}
