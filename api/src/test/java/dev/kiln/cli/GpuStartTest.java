package dev.kiln.cli;

import dev.kiln.runtime.Doctor;
import dev.kiln.runtime.plan.KernelBinary;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Which commands start CUDA before parsing, and that the early doctor says what a late one says. */
class GpuStartTest {
    @Test void onlyCommandsThatMayRunOnTheGpuStartIt() {
        assertSame(GpuStart.NONE, GpuStart.begin("compile", "m.onnx", "-o", "m.kiln"));
        assertSame(GpuStart.NONE, GpuStart.begin("doctor"));
        assertSame(GpuStart.NONE, GpuStart.begin());
        assertSame(GpuStart.NONE, GpuStart.begin("run", "--backend", "reference", "m.onnx"));
        assertSame(GpuStart.NONE, GpuStart.begin("run", "--backend=reference", "m.onnx"));
        assertSame(GpuStart.NONE, GpuStart.begin("run", "--help"));
        assertSame(GpuStart.NONE, GpuStart.begin("run", "--device", "x", "m.onnx"), "picocli reports the bad number");
        try (GpuStart g = GpuStart.begin("run", "m.onnx")) {
            assertNotSame(GpuStart.NONE, g);
        }
        assertNull(GpuStart.NONE.trace(), "nothing begun, nothing to trace");
    }

    @Test void optionValuesAreReadInBothSpellings() {
        assertEquals("2", GpuStart.value(List.of("run", "--device", "2", "m.onnx"), "--device", "0"));
        assertEquals("3", GpuStart.value(List.of("run", "--device=3", "m.onnx"), "--device", "0"));
        assertEquals("0", GpuStart.value(List.of("run", "m.onnx", "--device"), "--device", "0"), "no value after the name");
        assertEquals("0", GpuStart.value(List.of("run", "m.onnx"), "--device", "0"));
    }

    @Test void theEarlyDoctorAgreesWithALateOne() {
        Doctor.Report late = Doctor.report();
        try (GpuStart g = GpuStart.begin("run", "m.onnx")) {
            Doctor.Report early = g.doctor();
            assertEquals(late.ok(), early.ok());
            assertEquals(late.reason(), early.reason());
            assertEquals(!late.ok(), g.doctorFailed());
            assertTrue(g.awaitContext(0) >= 0);
            assertEquals(0, g.awaitContext(1), "no context was begun for device 1");
        }
    }

    @Test void loadModesAreCounted() {
        assertEquals("2 CUBIN, 1 PTX", Summary.loadModes(List.of(KernelBinary.LoadMode.CUBIN, KernelBinary.LoadMode.PTX, KernelBinary.LoadMode.CUBIN)));
        assertEquals("none", Summary.loadModes(List.of()));
    }
}
