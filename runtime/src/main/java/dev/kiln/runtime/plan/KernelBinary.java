package dev.kiln.runtime.plan;

/**
 * A kernel compiled ahead of time (from a bundle): a CUBIN for {@code arch} and/or PTX (empty arrays when
 * absent). {@link PlanExecutor} loads the CUBIN when {@code arch} is the device's, else JITs the PTX, else
 * compiles the source.
 */
public record KernelBinary(String arch, byte[] cubin, byte[] ptx) {
    public KernelBinary {
        cubin = cubin == null ? new byte[0] : cubin;
        ptx = ptx == null ? new byte[0] : ptx;
    }

    public static final KernelBinary NONE = new KernelBinary("", new byte[0], new byte[0]);

    /** How a kernel came to be loaded, reported by {@link PlanExecutor#loadModes()}. */
    public enum LoadMode {
        /** A prebuilt CUBIN for this exact GPU: no compilation at all. */
        CUBIN,
        /** Prebuilt PTX, JIT-compiled by the driver (a bundle made for another GPU). */
        PTX,
        /** CUDA C compiled by NVRTC now, or found in the kernel cache. */
        NVRTC
    }
}
