package dev.kiln.cli;

import dev.kiln.runtime.Cuda;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** Without a GPU, `kiln profile` says why in one line and exits 1, with no stack trace. */
class ProfileCommandTest {
    @Test void withoutAGpuItSaysWhyAndExitsOne() {
        assumeFalse(Cuda.available(), "a GPU is present: the no-GPU path is not taken");
        PrintStream err = System.err, out = System.out;
        var e = new ByteArrayOutputStream();
        var o = new ByteArrayOutputStream();
        int rc;
        try {
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            rc = KilnCli.execute("profile", "../examples/tiny_block.onnx", "--dtype", "fp16");
        } finally {
            System.setErr(err);
            System.setOut(out);
        }
        String msg = e.toString(StandardCharsets.UTF_8);
        assertEquals(1, rc);
        assertEquals(1, msg.strip().lines().count(), "one line: " + msg);
        assertTrue(msg.startsWith("kiln: error: profile needs a GPU: " + Cuda.unavailableReason()), msg);
        assertFalse(msg.contains("Exception") || msg.contains("\tat "), "no stack trace");
        assertEquals("", o.toString(StandardCharsets.UTF_8));
    }
}
