package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.KernelSpec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Compiles generated kernels with {@code nvcc -ptx -arch=sm_90} (and sm_80 for compatibility); tests skip
 * when nvcc is not on the PATH. Set {@code -Dkiln.dumpKernels=DIR} to keep every source.
 */
final class Nvcc {
    private Nvcc() {}

    private static final boolean AVAILABLE = probe();

    private static boolean probe() {
        try {
            Process p = new ProcessBuilder("nvcc", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    static void compile(KernelSpec k) { compile(k, "sm_90"); }

    static void compile(KernelSpec k, String arch) {
        dump(k);
        assumeTrue(AVAILABLE, "nvcc is not on the PATH: skipping the compile check of " + k.entry());
        try {
            Path dir = Files.createTempDirectory("kiln-nvcc");
            Path cu = dir.resolve(k.entry() + ".cu");
            Files.writeString(cu, k.source());
            Process p = new ProcessBuilder("nvcc", "-ptx", "-arch=" + arch, "-o", dir.resolve(k.entry() + ".ptx").toString(), cu.toString())
                    .redirectErrorStream(true).start();
            String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(300, TimeUnit.SECONDS)) { p.destroyForcibly(); fail("nvcc timed out on " + k.entry()); }
            if (p.exitValue() != 0) fail("nvcc failed on " + k.entry() + ":\n" + log + "\n--- source ---\n" + numbered(k.source()));
        } catch (IOException | InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    private static final java.util.concurrent.atomic.AtomicInteger SEQ = new java.util.concurrent.atomic.AtomicInteger();

    private static void dump(KernelSpec k) {
        String dir = System.getProperty("kiln.dumpKernels");
        if (dir == null) return;
        try {
            Files.createDirectories(Path.of(dir));
            Files.writeString(Path.of(dir, SEQ.incrementAndGet() + "_" + k.entry() + ".cu"), k.source());
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static String numbered(String s) {
        StringBuilder b = new StringBuilder();
        int i = 1;
        for (String l : s.split("\n")) b.append(String.format("%4d  %s%n", i++, l));
        return b.toString();
    }
}
