package dev.kiln.runtime;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;

/**
 * A CUDA device and the properties codegen and the compiler need. Immutable; query once with {@link #get}.
 *
 * @param arch NVRTC's real-architecture name, e.g. {@code sm_90}
 */
public record Device(int ordinal, int handle, String name, int ccMajor, int ccMinor, int multiprocessors,
                     long totalMemory, int maxThreadsPerBlock, int sharedMemoryPerBlockOptin, String arch) {

    /**
     * What identifies this GPU for anything cached per machine (tuning choices, compiled plans): its name, arch,
     * multiprocessors and the driver, e.g. {@code NVIDIA_H200,sm_90,132sm,driver13000}. One format for every cache.
     */
    public String identity() {
        return name.replace(' ', '_') + "," + arch + "," + multiprocessors + "sm,driver" + Cuda.driverVersion();
    }

    static final int ATTR_MAX_THREADS_PER_BLOCK = 1;
    static final int ATTR_MULTIPROCESSOR_COUNT = 16;
    static final int ATTR_CC_MAJOR = 75;
    static final int ATTR_CC_MINOR = 76;
    static final int ATTR_SHARED_MEM_PER_BLOCK_OPTIN = 97;

    public static Device get(int ordinal) {
        Cuda.require();
        String where = "device " + ordinal;
        try (Arena a = Arena.ofConfined()) {
            var h = a.allocate(JAVA_INT);
            CudaDriver.check(CudaDriver.cuDeviceGet(h, ordinal), "cuDeviceGet", where);
            int dev = h.get(JAVA_INT, 0);
            var nameBuf = a.allocate(256);
            CudaDriver.check(CudaDriver.cuDeviceGetName(nameBuf, 256, dev), "cuDeviceGetName", where);
            var mem = a.allocate(JAVA_LONG);
            CudaDriver.check(CudaDriver.cuDeviceTotalMem(mem, dev), "cuDeviceTotalMem_v2", where);
            int major = attribute(a, dev, ATTR_CC_MAJOR, where);
            int minor = attribute(a, dev, ATTR_CC_MINOR, where);
            return new Device(ordinal, dev, nameBuf.getString(0), major, minor,
                    attribute(a, dev, ATTR_MULTIPROCESSOR_COUNT, where), mem.get(JAVA_LONG, 0),
                    attribute(a, dev, ATTR_MAX_THREADS_PER_BLOCK, where),
                    attribute(a, dev, ATTR_SHARED_MEM_PER_BLOCK_OPTIN, where), archOf(major, minor));
        }
    }

    /** sm_XY from compute capability X.Y: what NVRTC needs to emit a CUBIN for this exact GPU. */
    public static String archOf(int major, int minor) {
        return "sm_" + major + minor;
    }

    /** The virtual architecture for PTX, which later GPUs can still JIT. */
    public String virtualArch() {
        return "compute_" + ccMajor + ccMinor;
    }

    /** Used in every error message so a failure on a multi-GPU host names the GPU. */
    public String label() {
        return "device " + ordinal + " (" + name + ", " + arch + ")";
    }

    private static int attribute(Arena a, int dev, int attr, String where) {
        var v = a.allocate(JAVA_INT);
        CudaDriver.check(CudaDriver.cuDeviceGetAttribute(v, attr, dev), "cuDeviceGetAttribute(" + attr + ")", where);
        return v.get(JAVA_INT, 0);
    }
}
