package dev.kiln.codegen.kernels;

import dev.kiln.codegen.CTypes;
import dev.kiln.ir.DType;
import dev.kiln.ir.Tensor;
import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Test helper: runs a generated kernel's index math on the host. The CUDA prelude is swapped for host
 * stand-ins and the kernel runs as one block of one thread, so its grid-stride loops visit every element
 * in turn (kernels that need shared memory or barriers cannot run here). Compiled with g++; the test is
 * skipped when there is none. Only f32/f64/integer buffers.
 */
public final class HostKernel {
    private HostKernel() {}

    static final String HOST_PRELUDE = """
            #include <cstdio>
            #include <cmath>
            #include <algorithm>
            using std::max; using std::min;
            struct KilnDim { unsigned x, y, z; };
            static KilnDim blockIdx{0, 0, 0}, threadIdx{0, 0, 0}, blockDim{1, 1, 1}, gridDim{1, 1, 1};
            #define __global__
            #define __restrict__
            #define __device__
            #define __forceinline__ inline
            #define __launch_bounds__(...)
            """;

    /** A buffer parameter: an input tensor, or an output of {@code dtype} and {@code numel} elements (tensor null). */
    public record Buf(Tensor in, DType dtype, long numel) {
        public static Buf in(Tensor t) { return new Buf(t, t.dtype(), t.numel()); }
        public static Buf out(DType d, long numel) { return new Buf(null, d, numel); }
    }

    /** Runs {@code entry} of {@code source} over {@code params} (in order); returns each output's elements as doubles. */
    public static List<double[]> run(String source, String entry, List<Buf> params) throws Exception {
        String gxx = null;
        for (String d : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator))
            if (Files.isExecutable(Path.of(d, "g++"))) { gxx = Path.of(d, "g++").toString(); break; }
        Assumptions.assumeTrue(gxx != null, "g++ not on PATH: host run of the kernel's index math skipped");
        String prelude = CTypes.PRELUDE.strip();
        if (!source.contains(prelude)) throw new IllegalArgumentException("kernel source without the standard prelude");
        StringBuilder c = new StringBuilder(source.replace(prelude, HOST_PRELUDE)).append("\nint main() {\n");
        StringBuilder call = new StringBuilder(entry).append('(');
        List<Integer> outs = new ArrayList<>();
        for (int k = 0; k < params.size(); k++) {
            Buf b = params.get(k);
            String ty = CTypes.storage(b.dtype());
            c.append("  static ").append(ty).append(" b").append(k).append('[').append(Math.max(1, b.numel())).append(']');
            if (b.in() != null) {
                c.append(" = {");
                for (int i = 0; i < b.numel(); i++) {
                    if (i > 0) c.append(", ");
                    c.append(b.dtype().isFloat() ? Double.toString(b.in().getDouble(i)) : b.in().getLong(i) + "LL");
                }
                c.append('}');
            } else outs.add(k);
            c.append(";\n");
            call.append(k > 0 ? ", " : "").append('b').append(k);
        }
        c.append("  ").append(call).append(");\n");
        for (int k : outs) {
            c.append("  for (long long i = 0; i < ").append(params.get(k).numel()).append("; i++) printf(\"%.17g \", (double) b").append(k).append("[i]);\n");
            c.append("  printf(\"\\n\");\n");
        }
        c.append("  return 0;\n}\n");
        Path dir = Files.createTempDirectory("kiln-host-kernel");
        Files.writeString(dir.resolve("k.cpp"), c);
        Process p = new ProcessBuilder(gxx, "-O1", "-w", "-o", dir.resolve("k").toString(), dir.resolve("k.cpp").toString())
                .redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) throw new AssertionError("g++ failed:\n" + log + "\n" + c);
        Process r = new ProcessBuilder(dir.resolve("k").toString()).redirectErrorStream(true).start();
        String out = new String(r.getInputStream().readAllBytes());
        if (r.waitFor() != 0) throw new AssertionError("host run failed:\n" + out);
        List<double[]> res = new ArrayList<>();
        for (String line : out.strip().split("\n", -1)) {
            String l = line.strip();
            res.add(l.isEmpty() ? new double[0] : java.util.Arrays.stream(l.split(" ")).mapToDouble(Double::parseDouble).toArray());
        }
        return res;
    }
}
