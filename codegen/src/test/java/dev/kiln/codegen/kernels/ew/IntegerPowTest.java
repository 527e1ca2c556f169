package dev.kiln.codegen.kernels.ew;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.NvccPtx;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.kiln.codegen.kernels.ew.Groups.*;
import static org.junit.jupiter.api.Assertions.*;

/** ONNX Pow on an integer base: the result keeps the base's type; integer exponents are exact. */
class IntegerPowTest {
    final ElementwiseKernel tpl = new ElementwiseKernel();
    final CodegenContext ctx = new CodegenContext(CodegenOptions.defaults());

    String emit(DType base, DType exp) {
        Graph g = single("Pow", Map.of(), List.of(t(base, 3), t(exp, 3)));
        assertTrue(tpl.accepts(last(g), g));
        return tpl.emit(last(g), g, ctx).get(0).source();
    }

    @Test void integerBasesGetExactOrDoublePowerAndCompile() {
        List<String> srcs = new ArrayList<>();
        for (DType[] p : new DType[][] {{DType.I32, DType.I32}, {DType.I64, DType.I64}, {DType.I32, DType.I64}, {DType.I64, DType.I32},
                {DType.U8, DType.U64}}) {
            String s = emit(p[0], p[1]);
            assertTrue(s.contains("kiln_ipow((" + CTypes.compute(p[0]) + ")("), s);
            srcs.add(s);
        }
        for (DType b : List.of(DType.I32, DType.I64)) {
            String s = emit(b, DType.F32);
            assertTrue(s.contains("(" + CTypes.compute(b) + ")(pow((double)"), s);
            assertFalse(s.contains("= kiln_ipow("), s);
            srcs.add(s);
        }
        // a float base keeps the float path
        assertTrue(emit(DType.F32, DType.I64).contains("powf("));
        NvccPtx.compileAll(srcs);
    }

    /** Runs the prelude's kiln_ipow on the host (g++) against values worked out by hand. */
    @Test void kilnIpowIsExactAndWrapsLikeTwosComplement() throws Exception {
        String gxx = null;
        for (String d : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator))
            if (Files.isExecutable(Path.of(d, "g++"))) { gxx = Path.of(d, "g++").toString(); break; }
        Assumptions.assumeTrue(gxx != null, "g++ not on PATH: host check of kiln_ipow skipped");
        StringBuilder fn = new StringBuilder();
        boolean in = false;
        for (String l : CTypes.PRELUDE.split("\n")) {
            if (l.contains("kiln_ipow(T b, E e)")) in = true;
            if (in) fn.append(l.replace("__device__ __forceinline__", "inline")).append('\n');
            if (in && l.equals("}")) break;
        }
        assertTrue(fn.toString().contains("return (T)r;"), fn.toString());
        String main = """
                #include <cstdio>
                %s
                int main() {
                  printf("%%d %%d %%d %%d\\n", kiln_ipow(3, 4), kiln_ipow(-2, 3), kiln_ipow(2, 31), kiln_ipow(10, 10));
                  printf("%%lld %%lld\\n", kiln_ipow(2LL, 62LL), kiln_ipow(3LL, 40LL));
                  printf("%%d %%d %%d %%d %%d %%d\\n", kiln_ipow(2, -1), kiln_ipow(1, -5), kiln_ipow(-1, -3), kiln_ipow(-1, -2), kiln_ipow(0, 0), kiln_ipow(7, 0LL));
                  printf("%%lld %%d\\n", kiln_ipow(5LL, 3), kiln_ipow((unsigned char)3, 5ULL));
                  return 0;
                }
                """.formatted(fn);
        Path dir = Files.createTempDirectory("kiln-ipow");
        Files.writeString(dir.resolve("t.cpp"), main);
        Process c = new ProcessBuilder(gxx, "-O1", "-o", dir.resolve("t").toString(), dir.resolve("t.cpp").toString()).redirectErrorStream(true).start();
        String log = new String(c.getInputStream().readAllBytes());
        assertEquals(0, c.waitFor(), log + "\n" + main);
        Process r = new ProcessBuilder(dir.resolve("t").toString()).redirectErrorStream(true).start();
        String out = new String(r.getInputStream().readAllBytes());
        assertEquals(0, r.waitFor());
        // 2^31 and 10^10 wrap in 32 bits; 3^40 = 12157665459056928801 wraps in 64 bits; 3^5 = 243 fits u8
        assertEquals("""
                81 -8 -2147483648 1410065408
                4611686018427387904 -6289078614652622815
                0 1 -1 1 1 1
                125 243
                """, out);
    }
}
