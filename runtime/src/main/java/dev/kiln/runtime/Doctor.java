package dev.kiln.runtime;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;

/**
 * Says whether this machine can run Kiln's kernels, and if not, why and what to install: the CUDA
 * driver, NVRTC, and each visible GPU. Never throws; {@code kiln doctor} prints {@link #report()}.
 */
public final class Doctor {
    private Doctor() {}

    public enum Status { OK, MISSING, ERROR }

    /** One line of the report: what was checked, how it went, the detail, and the fix when not OK. */
    public record Check(String name, Status status, String detail, String fix) {
        public boolean ok() { return status == Status.OK; }
    }

    public record Report(List<Check> checks) {
        public boolean ok() { return checks.stream().allMatch(Check::ok); }

        /**
         * Why kernels cannot run, in one line: the first check that failed, its detail and fix, e.g. {@code no usable
         * GPU: driver MISSING: libcuda not found (...); fix: install the NVIDIA driver...}; null when all is well.
         */
        public String reason() {
            return checks.stream().filter(c -> !c.ok()).findFirst().map(c -> "no usable GPU: " + c.name() + " " + c.status() + ": " + c.detail()
                    + (c.fix() == null ? "" : "; fix: " + c.fix()) + " (`kiln doctor` tells more)").orElse(null);
        }

        public Check check(String name) {
            return checks.stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow();
        }

        @Override
        public String toString() {
            var sb = new StringBuilder();
            for (Check c : checks) {
                sb.append(String.format("%-8s %-7s %s%n", c.name(), c.status(), c.detail()));
                if (c.fix() != null) sb.append(String.format("%-8s %-7s fix: %s%n", "", "", c.fix()));
            }
            sb.append(ok() ? "Kiln can run kernels on this machine." : "Kiln cannot run kernels on this machine (see above).");
            return sb.toString();
        }
    }

    static final String DRIVER_FIX = "install the NVIDIA driver (it provides libcuda.so.1), e.g. `apt install nvidia-driver-580`; "
            + "in a container, run with the NVIDIA Container Toolkit (--gpus all)";
    static final String NVRTC_FIX = "install the CUDA toolkit's NVRTC (libnvrtc.so.13 or .12), e.g. `apt install cuda-nvrtc-13-0` "
            + "or `pip install nvidia-cuda-nvrtc`, and set CUDA_HOME or LD_LIBRARY_PATH to its folder";

    public static Report report() {
        return report(LibraryLocator.fromEnvironment());
    }

    /** The report with libraries searched through {@code locator}; device checks use the default driver. */
    public static Report report(LibraryLocator locator) {
        return report(locator.openDriver(), locator.openNvrtc());
    }

    /** The report given what library lookup found; tests pass lookups that fail. */
    static Report report(LibraryLocator.Found driverLib, LibraryLocator.Found nvrtcLib) {
        var checks = new ArrayList<Check>();
        boolean driverOk = driverLib.ok() && CudaDriver.loaded();
        if (!driverLib.ok()) {
            checks.add(new Check("driver", Status.MISSING, "libcuda not found: " + driverLib.reason(), DRIVER_FIX));
        } else if (!CudaDriver.loaded()) {
            checks.add(new Check("driver", Status.ERROR, CudaDriver.loadProblem(), "update the NVIDIA driver to 525 or newer"));
        } else {
            checks.add(driverCheck(driverLib.chosen()));
        }
        if (!nvrtcLib.ok()) {
            checks.add(new Check("nvrtc", Status.MISSING, "libnvrtc not found: " + nvrtcLib.reason(), NVRTC_FIX));
        } else {
            try {
                var n = Nvrtc.open(nvrtcLib);
                checks.add(new Check("nvrtc", Status.OK, "NVRTC " + n.version() + " at " + n.path(), null));
            } catch (RuntimeException e) {
                checks.add(new Check("nvrtc", Status.ERROR, nvrtcLib.chosen() + ": " + e.getMessage(), NVRTC_FIX));
            }
        }
        if (!driverOk || !checks.getFirst().ok()) {
            checks.add(new Check("device", Status.MISSING, "not checked: no usable CUDA driver", DRIVER_FIX));
        } else {
            checks.addAll(deviceChecks());
        }
        return new Report(List.copyOf(checks));
    }

    private static Check driverCheck(String lib) {
        try (Arena a = Arena.ofConfined()) {
            int r = CudaDriver.cuInit(0);
            if (r != 0) {
                return new Check("driver", Status.ERROR, lib + ": cuInit failed with " + CudaDriver.errorName(r) + ": "
                        + CudaDriver.errorString(r), "check that the GPU is visible (nvidia-smi) and the driver module is loaded");
            }
            var v = a.allocate(JAVA_INT);
            CudaDriver.check(CudaDriver.cuDriverGetVersion(v), "cuDriverGetVersion", "no device");
            int ver = v.get(JAVA_INT, 0);
            // TMA tensor maps are optional: a driver without them runs everything but the TMA GEMM path (-Dkiln.tma)
            return new Check("driver", Status.OK, lib + ", CUDA " + ver / 1000 + "." + (ver % 1000) / 10
                    + (CudaDriver.tensorMapsAvailable() ? "" : " (no cuTensorMapEncodeTiled: TMA kernels unavailable)"), null);
        } catch (RuntimeException e) {
            return new Check("driver", Status.ERROR, lib + ": " + e.getMessage(), DRIVER_FIX);
        }
    }

    private static List<Check> deviceChecks() {
        var out = new ArrayList<Check>();
        try {
            int n = Cuda.deviceCount();
            for (int i = 0; i < n; i++) {
                Device d = Device.get(i);
                out.add(new Check("device", Status.OK, String.format("%d: %s, %s, %d SMs, %.1f GiB", i, d.name(), d.arch(),
                        d.multiprocessors(), d.totalMemory() / (double) (1L << 30)), null));
            }
        } catch (RuntimeException e) {
            out.add(new Check("device", Status.ERROR, e.getMessage(), "run nvidia-smi to see whether the GPU is healthy"));
        }
        return out;
    }

    public static void main(String[] args) {
        Report r = report();
        System.out.println(r);
        System.exit(r.ok() ? 0 : 1);
    }
}
