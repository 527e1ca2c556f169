package dev.kiln.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class CompileExceptionTest {
    static final String SRC = """
            extern "C" __global__ void k(float* p) {
              int i = threadIdx.x;
              p[i] = undefined_thing;
            }
            """;

    @Test
    void showsTheLinesTheLogNames() {
        String log = "kiln_k.cu(3): error: identifier \"undefined_thing\" is undefined\n\n1 error detected";
        List<String> lines = CompileException.offendingLines(SRC, log);
        assertEquals(3, lines.size());
        assertEquals(">    3 |   p[i] = undefined_thing;", lines.get(1));
        var e = new CompileException(CompileRequest.of(SRC, "kiln_k.cu", "sm_90", "-std=c++17"), log);
        assertTrue(e.getMessage().contains("sm_90"), e.getMessage());
        assertTrue(e.getMessage().contains("[-std=c++17]"), e.getMessage());
        assertTrue(e.getMessage().contains("undefined_thing\" is undefined"), e.getMessage());
        assertTrue(e.getMessage().contains(">    3 |"), e.getMessage());
    }

    @Test
    void logWithoutLocationsGivesNoExcerpt() {
        assertTrue(CompileException.offendingLines(SRC, "nvrtc: error: invalid option").isEmpty());
    }
}
