package dev.kiln.runtime;

import java.lang.foreign.MemorySegment;

/** A kernel of a loaded {@link CudaModule}; valid while the module is open. */
public final class Kernel {
    /** CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES. */
    static final int ATTR_MAX_DYNAMIC_SHARED = 8;

    private final CudaModule module;
    private final Context ctx;
    private final String name;
    private final long handle;

    Kernel(CudaModule module, Context ctx, String name, long handle) {
        this.module = module;
        this.ctx = ctx;
        this.name = name;
        this.handle = handle;
    }

    public String name() { return name; }

    /**
     * cuLaunchKernel with {@code kernelParams} = the pointer array of {@code args}. The driver copies the
     * argument values at launch (and at capture), so {@code args} may be changed for the next launch.
     */
    public void launch(Stream stream, Dim3 grid, Dim3 block, int sharedBytes, KernelArgs args) {
        module.checkUsable();
        ctx.check(CudaDriver.cuLaunchKernel(handle, grid.x(), grid.y(), grid.z(), block.x(), block.y(), block.z(),
                sharedBytes, stream.handle(), args.pointers(), MemorySegment.NULL), "cuLaunchKernel(" + name + ")");
    }

    /** Allows more than 48 KiB of dynamic shared memory, which needs an explicit opt-in per kernel. */
    public void setMaxDynamicSharedBytes(int bytes) {
        module.checkUsable();
        ctx.bind();
        ctx.check(CudaDriver.cuFuncSetAttribute(handle, ATTR_MAX_DYNAMIC_SHARED, bytes), "cuFuncSetAttribute(" + name + ")");
    }
}
