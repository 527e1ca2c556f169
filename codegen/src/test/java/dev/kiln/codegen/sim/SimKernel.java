package dev.kiln.codegen.sim;

import dev.kiln.codegen.KernelSpec;
import dev.kiln.ir.Tensor;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Test helper: runs a generated kernel (any template, shared memory, barriers, warp shuffles, tensor-core tile
 * operations) on the CPU with {@code kiln_sim.h}: the kernel source compiles unchanged with g++ (-DKILN_SIM
 * replaces {@link dev.kiln.codegen.kernels.tile.TileOps}' inline PTX with simulated warp collectives) and runs
 * its whole grid, one thread per CUDA thread. Slow (use small shapes) but exact about fragment layouts,
 * indexing, barriers and cp.async groups; TMA tensor maps are filled in the simulator's own layout. Skipped
 * when g++ is missing.
 */
public final class SimKernel {
    private SimKernel() {}

    private static final String[] HEADERS = {"kiln_sim.h", "cuda_fp16.h", "cuda_bf16.h"};
    private static final long TIMEOUT_S = 300;

    /**
     * Launches {@code spec} with its own grid and block. Buffer parameters are looked up in {@code inputs} (by
     * value name: their bytes are copied in) or {@code outputs} (value name -> bytes: a fresh buffer filled with
     * 0xff, so unwritten elements read as NaN or -1); workspaces start zeroed. Returns each output's bytes. Fails when the kernel leaves a zeroed workspace non-zero.
     */
    public static Map<String, byte[]> run(KernelSpec spec, Map<String, Tensor> inputs, Map<String, Long> outputs) {
        Path gxx = findGxx();
        try {
            Path dir = Files.createTempDirectory("kiln-sim");
            for (String h : HEADERS)
                try (InputStream in = SimKernel.class.getResourceAsStream(h)) {
                    if (in == null) throw new IllegalStateException("missing test resource " + h);
                    Files.write(dir.resolve(h), in.readAllBytes());
                }
            StringBuilder main = new StringBuilder(spec.source()).append("\n// ---- simulator driver\n");
            main.append("static unsigned char* kiln_buf(const char* path, size_t n, int fill) {\n")
                .append("  unsigned char* p = (unsigned char*) aligned_alloc(256, (n + 255) / 256 * 256 + 256);\n")
                .append("  memset(p, fill, n + 256);\n")
                .append("  if (path) { FILE* f = fopen(path, \"rb\"); if (!f || fread(p, 1, n, f) != n) { fprintf(stderr, \"cannot read %s\\n\", path); exit(4); } fclose(f); }\n")
                .append("  return p;\n}\n");
            main.append("int main() {\n");
            List<String> args = new ArrayList<>();
            Map<String, Integer> outIndex = new HashMap<>();
            List<String> zeroed = new ArrayList<>(); // checks that zeroed workspaces are zero again after the launch
            int k = 0;
            for (KernelSpec.Param p : spec.params()) {
                String name = "p" + k;
                switch (p) {
                    case KernelSpec.Param.Buffer b -> {
                        Tensor t = inputs.get(b.value());
                        if (t != null) {
                            Files.write(dir.resolve(name + ".in"), t.storage());
                            main.append(String.format("  unsigned char* %s = kiln_buf(\"%s\", %d, 0);\n", name, dir.resolve(name + ".in"), t.storage().length));
                        } else if (outputs.containsKey(b.value())) {
                            main.append(String.format("  unsigned char* %s = kiln_buf(0, %d, 0xff);\n", name, outputs.get(b.value())));
                            outIndex.put(b.value(), k);
                        } else throw new IllegalArgumentException("no input or output given for buffer %" + b.value());
                        args.add("KilnSimPtr{" + name + "}");
                    }
                    case KernelSpec.Param.Workspace w -> {
                        main.append(String.format("  unsigned char* %s = kiln_buf(0, %d, 0);\n", name, w.bytes()));
                        if (w.zeroed()) zeroed.add(String.format("  for (size_t i = 0; i < %d; i++) if (%s[i]) { fprintf(stderr, \"kiln_sim: zeroed workspace %s left non-zero at byte %%zu\\n\", i); return 5; }\n", w.bytes(), name, name));
                        args.add("KilnSimPtr{" + name + "}");
                    }
                    case KernelSpec.Param.I32 v -> args.add("(int)" + v.value());
                    case KernelSpec.Param.I64 v -> args.add(v.value() + "LL");
                    case KernelSpec.Param.F32 v -> args.add("__int_as_float(" + Float.floatToRawIntBits(v.value()) + ")");
                    case KernelSpec.Param.TensorMaps t -> { // the simulator's own map layout (kiln_sim::Tmap), over the buffers already made
                        main.append(String.format("  unsigned char* %s = kiln_buf(0, %d, 0);\n", name, 128 * t.maps().size()));
                        for (int i = 0; i < t.maps().size(); i++) {
                            KernelSpec.TensorMap m = t.maps().get(i);
                            if (m.dims().size() != 2) throw new IllegalArgumentException("the CPU simulator has 2-D tensor maps only");
                            main.append(String.format("  kiln_sim::tmap_set(%s + %d, p%d + %d, %dULL, %dULL, %dULL, %d, %d, %d, %d);\n", name, 128 * i,
                                    m.param(), m.offsetBytes(), m.dims().get(0), m.dims().get(1), m.strideBytes().get(0), m.box().get(0), m.box().get(1),
                                    m.dtype().storageBytes(), m.swizzleBytes()));
                        }
                        args.add("KilnSimPtr{" + name + "}");
                    }
                }
                k++;
            }
            KernelSpec.Dim3 g = spec.grid(), b = spec.block();
            main.append(String.format("  kiln_sim::launch({%d, %d, %d}, {%d, %d, %d}, %d, [&] { %s(%s); });\n",
                    g.x(), g.y(), g.z(), b.x(), b.y(), b.z(), spec.sharedBytes(), spec.entry(), String.join(", ", args)));
            zeroed.forEach(main::append);
            for (var e : outIndex.entrySet()) {
                String name = "p" + e.getValue();
                main.append(String.format("  { FILE* f = fopen(\"%s\", \"wb\"); fwrite(%s, 1, %d, f); fclose(f); }\n",
                        dir.resolve(name + ".out"), name, outputs.get(e.getKey())));
            }
            main.append("  return 0;\n}\n");
            Path cpp = dir.resolve("kernel.cpp"), exe = dir.resolve("kernel");
            Files.writeString(cpp, main);
            exec(dir, "g++ failed on the simulated kernel " + spec.entry() + " (source in " + cpp + ")", gxx.toString(),
                    "-std=c++20", "-O1", "-w", "-pthread", "-fno-strict-aliasing", "-DKILN_SIM", "-I", dir.toString(),
                    "-include", dir.resolve("kiln_sim.h").toString(), "-o", exe.toString(), cpp.toString());
            exec(dir, "simulated run of " + spec.entry() + " failed", exe.toString());
            Map<String, byte[]> out = new HashMap<>();
            for (var e : outIndex.entrySet()) out.put(e.getKey(), Files.readAllBytes(dir.resolve("p" + e.getValue() + ".out")));
            return out;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static void exec(Path dir, String what, String... cmd) throws IOException, InterruptedException {
        Path log = Files.createTempFile(dir, "log", ".txt");
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(TIMEOUT_S, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(what + ": timed out after " + TIMEOUT_S + " s (a barrier no thread reaches?)");
        }
        if (p.exitValue() != 0) throw new AssertionError(what + ":\n" + Files.readString(log));
    }

    private static Path findGxx() {
        for (String d : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator))
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, "g++"))) return Path.of(d, "g++");
        Assumptions.assumeTrue(false, "g++ not on PATH: CPU simulation of kernels skipped");
        return null;
    }
}
