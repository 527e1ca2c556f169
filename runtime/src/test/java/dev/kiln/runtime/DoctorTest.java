package dev.kiln.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DoctorTest {

    @Test
    void reportsMissingDriverAndNvrtcWithFixes() {
        var locator = new LibraryLocator(Map.of());
        var report = Doctor.report(locator.open(List.of("libkiln-no-cuda.so.1")),
                locator.open(List.of("/nonexistent-cuda/lib64/libnvrtc.so.13", "libkiln-no-nvrtc.so.13")));
        assertFalse(report.ok());
        assertEquals(Doctor.Status.MISSING, report.check("driver").status());
        assertTrue(report.check("driver").fix().contains("NVIDIA driver"));
        assertEquals(Doctor.Status.MISSING, report.check("nvrtc").status());
        assertTrue(report.check("nvrtc").detail().contains("/nonexistent-cuda/lib64/libnvrtc.so.13 (no such file)"));
        assertTrue(report.check("nvrtc").fix().contains("CUDA_HOME"));
        assertEquals(Doctor.Status.MISSING, report.check("device").status());
        String text = report.toString();
        assertTrue(text.contains("fix: install the NVIDIA driver"), text);
        assertTrue(text.endsWith("Kiln cannot run kernels on this machine (see above)."), text);
    }

    @Test
    void defaultReportNeverThrowsAndAgreesWithCudaAvailable() {
        var report = Doctor.report();
        assertTrue(report.checks().size() >= 3, report.toString());
        if (!Cuda.available()) assertFalse(report.ok(), report.toString());
    }
}
