package dev.kiln.runtime;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;

/** Whether this machine can run kernels at all, with the reason when it cannot. Checked once per JVM. */
public final class Cuda {
    private Cuda() {}

    private static final String PROBLEM = probe();

    /** True when the driver loads, cuInit succeeds and at least one device is visible. */
    public static boolean available() {
        return PROBLEM == null;
    }

    /** Why {@link #available()} is false (null when it is true); suitable for a test assumption message. */
    public static String unavailableReason() {
        return PROBLEM;
    }

    /** Throws {@link CudaUnavailableException} with the reason when no GPU can be used. */
    public static void require() {
        if (PROBLEM != null) throw new CudaUnavailableException(PROBLEM + " (run dev.kiln.runtime.Doctor for details)");
    }

    public static int deviceCount() {
        require();
        try (Arena a = Arena.ofConfined()) {
            var n = a.allocate(JAVA_INT);
            CudaDriver.check(CudaDriver.cuDeviceGetCount(n), "cuDeviceGetCount", "no device");
            return n.get(JAVA_INT, 0);
        }
    }

    /** The driver's CUDA version as cuDriverGetVersion gives it (13000 for 13.0). */
    public static int driverVersion() {
        require();
        try (Arena a = Arena.ofConfined()) {
            var v = a.allocate(JAVA_INT);
            CudaDriver.check(CudaDriver.cuDriverGetVersion(v), "cuDriverGetVersion", "no device");
            return v.get(JAVA_INT, 0);
        }
    }

    private static String probe() {
        if (!CudaDriver.startLoaded()) return CudaDriver.loadProblem();
        // the other calls are bound on a thread of their own while cuInit runs (each takes about 100 ms on an H200 host)
        var rest = Background.start("kiln-cuda-bind", CudaDriver::loaded);
        try (Arena a = Arena.ofConfined()) {
            int r = CudaDriver.cuInit(0);
            if (r != 0) return "cuInit failed: " + CudaDriver.errorName(r) + ": " + CudaDriver.errorString(r);
            if (!rest.join()) return CudaDriver.loadProblem();
            var n = a.allocate(JAVA_INT);
            r = CudaDriver.cuDeviceGetCount(n);
            if (r != 0) return "cuDeviceGetCount failed: " + CudaDriver.errorName(r);
            if (n.get(JAVA_INT, 0) == 0) return "the CUDA driver sees no device";
            return null;
        } catch (RuntimeException e) {
            return "CUDA driver unusable: " + e.getMessage();
        }
    }
}
