package dev.kiln.codegen;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Test helper: compiles CUDA sources to PTX with {@code nvcc -ptx -arch=sm_90} (sm_90a for wgmma kernels, as the runtime). Tests are skipped (not failed)
 * when nvcc is not on the PATH (or under $CUDA_HOME/bin). A compile error fails with nvcc's log and the
 * offending source lines, numbered.
 */
public final class NvccPtx {
    private NvccPtx() {}

    private static volatile String nvcc;

    /** The nvcc executable, or skips the calling test when there is none. */
    public static String nvccOrSkip() {
        String n = nvcc;
        if (n == null) {
            n = find();
            nvcc = n;
        }
        Assumptions.assumeTrue(!n.isEmpty(), "nvcc not found on PATH or in $CUDA_HOME/bin: CUDA compile checks skipped");
        return n;
    }

    private static String find() {
        List<Path> dirs = new ArrayList<>();
        String cudaHome = System.getenv("CUDA_HOME");
        if (cudaHome != null) dirs.add(Path.of(cudaHome, "bin"));
        String path = System.getenv("PATH");
        if (path != null) for (String d : path.split(java.io.File.pathSeparator)) if (!d.isEmpty()) dirs.add(Path.of(d));
        dirs.add(Path.of("/usr/local/cuda/bin"));
        for (Path d : dirs) if (Files.isExecutable(d.resolve("nvcc"))) return d.resolve("nvcc").toString();
        return "";
    }

    /** Compiles one source; returns the PTX. Fails the test with the log and the offending lines on error. */
    public static String compile(String source) {
        return run(source);
    }

    /**
     * Compiles all sources in one nvcc run (one process is much cheaper than many): each source's
     * {@code #include} lines are hoisted and the rest is wrapped in its own namespace, so helper functions may
     * repeat; {@code extern "C"} entry names must differ. Returns the PTX of the whole batch.
     */
    public static String compileAll(List<String> sources) {
        StringBuilder includes = new StringBuilder(), body = new StringBuilder();
        java.util.Set<String> seen = new java.util.LinkedHashSet<>();
        for (int i = 0; i < sources.size(); i++) {
            body.append("namespace kiln_src").append(i).append(" {\n");
            for (String l : sources.get(i).split("\n", -1)) {
                if (l.startsWith("#include")) { if (seen.add(l)) includes.append(l).append('\n'); body.append("\n"); }
                else body.append(l).append('\n');
            }
            body.append("}\n");
        }
        return run(includes + body.toString());
    }

    /** Registers and spill bytes of one compiled entry, as {@code ptxas -v} reports them. */
    public record Resources(int registers, int spillStores, int spillLoads, int stackBytes) {}

    private static final Pattern ENTRY = Pattern.compile("Compiling entry function '([^']+)'");
    private static final Pattern FRAME = Pattern.compile("(\\d+) bytes stack frame, (\\d+) bytes spill stores, (\\d+) bytes spill loads");
    private static final Pattern REGS = Pattern.compile("Used (\\d+) registers");

    /**
     * Compiles the sources (as {@link #compileAll}) to a cubin for {@code arch} with {@code ptxas -v} and returns
     * each entry's registers and spills.
     */
    public static java.util.Map<String, Resources> resources(List<String> sources, String arch) {
        return resources(sources, arch, new java.util.HashSet<>());
    }

    /** ptxas's note that it serialized an entry's wgmmas (C7520: e.g. a wgmma on a path it cannot prove warp-uniform). */
    private static final Pattern SERIALIZED = Pattern.compile("wgmma.mma_async instructions are serialized.*in the function '([^']+)'");

    /** {@link #resources}, adding to {@code serialized} the entries whose wgmmas ptxas serialized (a large slowdown, no error). */
    public static java.util.Map<String, Resources> resources(List<String> sources, String arch, java.util.Set<String> serialized) {
        String exe = nvccOrSkip();
        StringBuilder includes = new StringBuilder(), body = new StringBuilder();
        java.util.Set<String> seen = new java.util.LinkedHashSet<>();
        for (int i = 0; i < sources.size(); i++) {
            body.append("namespace kiln_src").append(i).append(" {\n");
            for (String l : sources.get(i).split("\n", -1)) {
                if (l.startsWith("#include")) { if (seen.add(l)) includes.append(l).append('\n'); body.append("\n"); }
                else body.append(l).append('\n');
            }
            body.append("}\n");
        }
        String source = includes + body.toString();
        try {
            Path dir = Files.createTempDirectory("kiln-nvcc");
            Path cu = dir.resolve("k.cu");
            Files.writeString(cu, source);
            Process p = new ProcessBuilder(exe, "-cubin", "-arch=" + arch, "-Xptxas", "-v", "-o", dir.resolve("k.cubin").toString(), cu.toString())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("k.log").toFile()).start();
            finish(p, dir, source, "k.log");
            java.util.Map<String, Resources> out = new java.util.LinkedHashMap<>();
            String entry = null;
            int[] frame = null;
            for (String l : Files.readAllLines(dir.resolve("k.log"))) {
                Matcher m;
                if ((m = SERIALIZED.matcher(l)).find()) serialized.add(m.group(1));
                if ((m = ENTRY.matcher(l)).find()) { entry = m.group(1); frame = null; }
                else if ((m = FRAME.matcher(l)).find()) frame = new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3))};
                else if ((m = REGS.matcher(l)).find() && entry != null && frame != null)
                    out.put(entry, new Resources(Integer.parseInt(m.group(1)), frame[1], frame[2], frame[0]));
            }
            return out;
        } catch (IOException e) {
            throw new AssertionError("could not run nvcc: " + e, e);
        }
    }

    private static String run(String source) {
        String exe = nvccOrSkip();
        try {
            Path dir = Files.createTempDirectory("kiln-nvcc");
            Path cu = dir.resolve("k.cu");
            Files.writeString(cu, source);
            // wgmma kernels carry the marker that makes the runtime compile them for sm_90a; do the same
            String arch = source.contains(dev.kiln.codegen.kernels.tile.WgmmaOps.ARCH_MARKER) ? "-arch=sm_90a" : "-arch=sm_90";
            Process p = new ProcessBuilder(exe, "-ptx", arch, "-o", dir.resolve("k.ptx").toString(), cu.toString())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("k.log").toFile()).start();
            finish(p, dir, source, "k.log");
            return Files.readString(dir.resolve("k.ptx"), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new AssertionError("could not run nvcc: " + e, e);
        }
    }

    private static void finish(Process p, Path dir, String source, String logName) throws IOException {
        try {
            if (!p.waitFor(300, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("nvcc timed out on:\n" + numbered(source));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
        String log = Files.readString(dir.resolve(logName), StandardCharsets.UTF_8);
        if (p.exitValue() != 0) throw new AssertionError("nvcc failed:\n" + log + "\noffending lines:\n" + offending(log, source)
                + "\nfull source:\n" + numbered(source));
    }

    private static final Pattern LINE = Pattern.compile("\\.cu\\((\\d+)\\)");

    /** The source lines nvcc's log points at, with two lines of context. */
    static String offending(String log, String source) {
        String[] lines = source.split("\n", -1);
        StringBuilder b = new StringBuilder();
        Matcher m = LINE.matcher(log);
        while (m.find()) {
            int l = Integer.parseInt(m.group(1));
            for (int k = Math.max(1, l - 2); k <= Math.min(lines.length, l + 2); k++)
                b.append(k == l ? ">" : " ").append(String.format("%4d| ", k)).append(lines[k - 1]).append('\n');
            b.append("----\n");
        }
        return b.toString();
    }

    static String numbered(String source) {
        String[] lines = source.split("\n", -1);
        StringBuilder b = new StringBuilder();
        for (int k = 0; k < lines.length; k++) b.append(String.format("%4d| ", k + 1)).append(lines[k]).append('\n');
        return b.toString();
    }
}
