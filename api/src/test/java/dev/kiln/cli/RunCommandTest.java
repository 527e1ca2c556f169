package dev.kiln.cli;

import dev.kiln.TestModels;
import dev.kiln.runtime.Doctor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** {@code kiln run} from the outside: exit codes and what reaches the terminal. */
class RunCommandTest {
    /** Runs the CLI with standard output and error captured: {exit code, out, err}. */
    static Object[] kiln(String... args) {
        PrintStream out = System.out, err = System.err;
        var o = new ByteArrayOutputStream();
        var e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            int rc = KilnCli.execute(args);
            return new Object[] {rc, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8)};
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    @Test void gpuBackendWithoutAUsableGpuSaysWhyInOneLineAndExits1(@TempDir Path dir) throws Exception {
        Doctor.Report doctor = Doctor.report();
        Assumptions.assumeFalse(doctor.ok(), "this machine has a usable GPU");
        Path model = dir.resolve("relu_add.onnx");
        Files.write(model, TestModels.reluAddOnnx());
        Object[] r = kiln("run", "--backend", "gpu", "--dtype", "fp16", model.toString());
        String err = (String) r[2];
        assertEquals(1, r[0], err);
        assertEquals("kiln: error: " + doctor.reason(), err.strip(), "one line, the doctor's reason");
        assertFalse(err.contains("\tat "), "no stack trace:\n" + err);
        assertEquals("", r[1], "nothing ran");
    }

    @Test void aBundleWithoutAUsableGpuSaysWhyInOneLineAndExits1(@TempDir Path dir) throws Exception {
        Doctor.Report doctor = Doctor.report();
        Assumptions.assumeFalse(doctor.ok(), "this machine has a usable GPU");
        Path model = dir.resolve("relu_add.onnx"), bundle = dir.resolve("relu_add.kiln");
        Files.write(model, TestModels.reluAddOnnx());
        Object[] c = kiln("compile", model.toString(), "-o", bundle.toString());
        Assumptions.assumeTrue((int) c[0] == 0 && Files.exists(bundle), "no bundle could be written here: " + c[2]);
        Object[] r = kiln("run", bundle.toString());
        String err = (String) r[2];
        assertEquals(1, r[0], err);
        assertEquals("kiln: error: " + doctor.reason(), err.strip(), "one line, the doctor's reason");
        assertEquals("", r[1], "nothing ran");
    }

    @Test void autoBackendFallsBackToTheReferenceSayingWhy(@TempDir Path dir) throws Exception {
        Doctor.Report doctor = Doctor.report();
        Assumptions.assumeFalse(doctor.ok(), "this machine has a usable GPU");
        Path model = dir.resolve("relu_add.onnx");
        Files.write(model, TestModels.reluAddOnnx());
        Object[] r = kiln("run", model.toString());
        assertEquals(0, r[0], (String) r[2]);
        assertTrue(((String) r[2]).startsWith(doctor.reason() + ": running on the reference backend"), (String) r[2]);
        assertTrue(((String) r[1]).contains("on the reference backend"), (String) r[1]);
    }

    @Test void compileHelpNamesEveryDtype() {
        Object[] r = kiln("compile", "--help");
        String help = ((String) r[1]).replaceAll("\\s+", " "); // picocli wraps long descriptions
        assertTrue(help.contains("fp32, fp16 or bf16"), help);
        assertFalse(help.contains("fp32 is what is wired"), help);
        assertTrue(((String) kiln("run", "--help")[1]).contains("--dtype"));
    }
}
