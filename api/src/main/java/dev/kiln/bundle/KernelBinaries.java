package dev.kiln.bundle;

import dev.kiln.ir.KilnException;
import dev.kiln.runtime.CompilePool;
import dev.kiln.runtime.CompileRequest;
import dev.kiln.runtime.CompiledKernel;
import dev.kiln.runtime.Cuda;
import dev.kiln.runtime.KernelCache;
import dev.kiln.runtime.Nvrtc;
import dev.kiln.runtime.Progress;
import dev.kiln.runtime.plan.CompileFlags;
import dev.kiln.runtime.plan.ExecutionPlan;
import dev.kiln.runtime.plan.KernelBinary;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Compiles a plan's kernels ahead of time for a bundle: with NVRTC (through the kernel cache, in parallel,
 * adding the PTX that JIT runs leave out) when a GPU is present, else with {@code nvcc} when it is on the PATH, else not at all. Each gives a CUBIN for the target
 * arch and PTX for its virtual arch, so a bundle loads without compiling on that GPU and JITs elsewhere.
 */
final class KernelBinaries {
    private KernelBinaries() {}

    /** @param tool {@code nvrtc}, {@code nvcc} or {@code none}; {@code version} that tool's version */
    record Built(String tool, String version, List<KernelBinary> binaries) {}

    static Built build(List<ExecutionPlan.KernelSource> kernels, String arch, BundleWriter.Binaries mode) {
        if (mode == BundleWriter.Binaries.NONE) return none(kernels);
        if (mode != BundleWriter.Binaries.NVCC && Cuda.available()) {
            KernelCache cache = KernelCache.standard();
            List<CompileRequest> requests = new ArrayList<>();
            for (ExecutionPlan.KernelSource k : kernels)
                requests.add(new CompileRequest(k.source(), k.name() + ".cu", CompileFlags.standard(), arch));
            List<KernelBinary> out = new ArrayList<>();
            for (CompiledKernel c : CompilePool.await(CompilePool.submit(requests, cache::getWithPtx, Progress.NONE)))
                out.add(new KernelBinary(c.arch(), c.cubin(), c.ptx())); // sm_90a for arch-specific kernels
            return new Built("nvrtc", cache.compiler().version(), out);
        }
        Path nvcc = onPath("nvcc");
        if (nvcc != null) return nvcc(nvcc, kernels, arch);
        return none(kernels);
    }

    private static Built none(List<ExecutionPlan.KernelSource> kernels) {
        List<KernelBinary> out = new ArrayList<>();
        for (int i = 0; i < kernels.size(); i++) out.add(KernelBinary.NONE);
        return new Built("none", "", out);
    }

    /** NVRTC's version when its library loads (no GPU needed), else "none". */
    static String nvrtcVersion() {
        try {
            return Nvrtc.get().version();
        } catch (RuntimeException | LinkageError e) {
            return "none";
        }
    }

    static Path onPath(String exe) {
        String path = System.getenv("PATH");
        if (path == null) return null;
        for (String d : path.split(File.pathSeparator)) {
            Path p = Path.of(d, exe);
            if (Files.isExecutable(p)) return p;
        }
        return null;
    }

    private static Built nvcc(Path nvcc, List<ExecutionPlan.KernelSource> kernels, String arch) {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("kiln-nvcc");
            String version = run(dir, List.of(nvcc.toString(), "--version")).lines()
                    .filter(l -> l.contains("release")).findFirst().orElse("unknown").trim();
            List<KernelBinary> out = new ArrayList<>();
            for (int i = 0; i < kernels.size(); i++) {
                String real = CompileRequest.archFor(kernels.get(i).source(), arch), virtual = "compute_" + real.substring("sm_".length());
                Path cu = dir.resolve("k" + i + ".cu");
                Files.writeString(cu, kernels.get(i).source(), StandardCharsets.UTF_8);
                run(dir, List.of(nvcc.toString(), "-std=c++17", "-ptx", "-arch=" + virtual, cu.toString(), "-o", "k" + i + ".ptx"));
                run(dir, List.of(nvcc.toString(), "-std=c++17", "-cubin", "-arch=" + real, cu.toString(), "-o", "k" + i + ".cubin"));
                out.add(new KernelBinary(real, Files.readAllBytes(dir.resolve("k" + i + ".cubin")), Files.readAllBytes(dir.resolve("k" + i + ".ptx"))));
            }
            return new Built("nvcc", version, out);
        } catch (IOException e) {
            throw new KilnException("nvcc failed while building the bundle's kernels: " + e.getMessage(), e);
        } finally {
            if (dir != null) deleteTree(dir);
        }
    }

    private static String run(Path dir, List<String> cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (p.waitFor() != 0) throw new IOException(String.join(" ", cmd) + " exited with " + p.exitValue() + ":\n" + output);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        return output;
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temp folder left behind is harmless
        }
    }
}
