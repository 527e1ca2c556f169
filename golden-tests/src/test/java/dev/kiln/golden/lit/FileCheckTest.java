package dev.kiln.golden.lit;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class FileCheckTest {
    private static final String OUT = """
            graph @g(%x: f32[4]) -> (%y: f32[4]) {
              %a = Exp(%x) : f32[4]
              %y = Neg(%a) : f32[4]
              return %y
            }""";

    private static void check(String directives) { FileCheck.check(OUT, FileCheck.parse(directives, 1)); }

    @Test
    void matchesInOrderWithCaptures() {
        check("""
                // CHECK: [[E:%[a-z]+]] = Exp(%x)
                // CHECK-NEXT: %y = Neg([[E]])
                // CHECK-SAME: f32[4]
                // CHECK: return %y""");
    }

    @Test
    void failsOnWrongOrderMissingNextAndForbiddenText() {
        assertThrows(FileCheck.CheckFailure.class, () -> check("// CHECK: Neg\n// CHECK: Exp"));
        assertThrows(FileCheck.CheckFailure.class, () -> check("// CHECK: graph\n// CHECK-NEXT: Neg"));
        assertThrows(FileCheck.CheckFailure.class, () -> check("// CHECK: graph\n// CHECK-NOT: Exp\n// CHECK: return"));
        var e = assertThrows(FileCheck.CheckFailure.class, () -> check("// CHECK: [[E:%[a-z]+]] = Exp\n// CHECK: Neg([[E]], %x)"));
        assertTrue(e.getMessage().startsWith("line 2: CHECK"), e.getMessage());
    }

    @Test
    void notPassesWhenAbsentAndRegexWorks() {
        check("// CHECK: graph\n// CHECK-NOT: Sqrt\n// CHECK: {{Ex+p}}");
        assertEquals(List.of(), FileCheck.parse("no directives", 1));
    }
}
