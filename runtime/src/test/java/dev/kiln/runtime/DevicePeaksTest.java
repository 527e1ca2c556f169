package dev.kiln.runtime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The peaks cache file and the measuring kernels, checked without a GPU. */
class DevicePeaksTest {
    static final DevicePeaks P = new DevicePeaks("NVIDIA H200 \"NVL\"", "sm_90", 13000, 4312.5, 655.25, 660.5, 61.25, "2026-11-28T10:00:00Z");

    @Test void jsonRoundTrips(@TempDir Path dir) {
        assertEquals(P, DevicePeaks.fromJson(P.toJson()));
        Path f = DevicePeaks.file(dir, P.device(), P.arch(), P.driverVersion());
        DevicePeaks.write(f, P);
        assertEquals(P, DevicePeaks.read(f));
        try (var s = Files.list(f.getParent())) { assertEquals(List.of(f), s.toList(), "no temp file left"); } catch (IOException e) { fail(e); }
    }

    @Test void aDamagedFileReadsAsMissing(@TempDir Path dir) throws IOException {
        assertNull(DevicePeaks.fromJson("{\"device\": \"x\", \"arch\": \"sm_90\"}"));
        assertNull(DevicePeaks.fromJson(P.toJson().replace("4312.5", "fast")));
        Path f = dir.resolve("p.json");
        Files.writeString(f, P.toJson().substring(0, 40));
        assertNull(DevicePeaks.read(f));
        assertNull(DevicePeaks.read(dir.resolve("absent.json")));
    }

    @Test void eachDeviceDriverAndArchHasItsOwnFile(@TempDir Path dir) {
        Path a = DevicePeaks.file(dir, "NVIDIA H200", "sm_90", 13000);
        assertNotEquals(a, DevicePeaks.file(dir, "NVIDIA H200", "sm_90", 12080));
        assertNotEquals(a, DevicePeaks.file(dir, "NVIDIA H100 80GB HBM3", "sm_90", 13000));
        assertNotEquals(a, DevicePeaks.file(dir, "NVIDIA H200", "sm_100", 13000));
        assertTrue(a.startsWith(dir) && a.getFileName().toString().matches("[A-Za-z0-9_.-]+\\.json"), a.toString());
    }

    @Test void theCeilingForADtype() {
        assertEquals(655.25, P.tflops("f16"));
        assertEquals(660.5, P.tflops("bf16"));
        assertEquals(61.25, P.tflops("f32"));
        var noMma = new DevicePeaks("old", "sm_75", 1, 300, 0, 0, 14, "");
        assertEquals(14, noMma.tflops("f16"), "no mma measured: the f32 ceiling");
    }

    @Test void kernelsCompileForSm90(@TempDir Path dir) throws Exception {
        String nvcc = nvcc();
        assumeTrue(nvcc != null, "nvcc not on PATH: CUDA compile check skipped");
        Path cu = dir.resolve("peaks.cu");
        Files.writeString(cu, PeakKernels.COPY + PeakKernels.MMA_F16 + PeakKernels.MMA_BF16 + PeakKernels.FMA);
        Process p = new ProcessBuilder(nvcc, "-arch=sm_90", "-ptx", cu.toString(), "-o", dir.resolve("peaks.ptx").toString())
                .redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), log);
        String ptx = Files.readString(dir.resolve("peaks.ptx"));
        for (String entry : List.of("kiln_peak_copy", "kiln_peak_mma_f16", "kiln_peak_mma_bf16", "kiln_peak_fma"))
            assertTrue(ptx.contains(".entry " + entry), entry);
        // the throughput loops issue what is counted: CHAINS mma (or fma) per iteration (the loop may be unrolled)
        for (String[] k : new String[][] {{"kiln_peak_mma_f16", "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32"},
                {"kiln_peak_mma_bf16", "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32"}, {"kiln_peak_fma", "fma.rn.f32"}}) {
            int n = count(section(ptx, k[0]), k[1]);
            assertTrue(n >= PeakKernels.CHAINS && n % PeakKernels.CHAINS == 0, k[0] + ": " + n + " " + k[1]);
        }
    }

    private static String section(String ptx, String entry) {
        int i = ptx.indexOf(".entry " + entry);
        int j = ptx.indexOf(".entry ", i + 1);
        return ptx.substring(i, j < 0 ? ptx.length() : j);
    }

    private static int count(String s, String sub) {
        int n = 0;
        for (int i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + 1)) n++;
        return n;
    }

    private static String nvcc() {
        String path = System.getenv("PATH");
        if (path != null) for (String d : path.split(java.io.File.pathSeparator)) if (Files.isExecutable(Path.of(d, "nvcc"))) return Path.of(d, "nvcc").toString();
        return Files.isExecutable(Path.of("/usr/local/cuda/bin/nvcc")) ? "/usr/local/cuda/bin/nvcc" : null;
    }
}
