package dev.kiln.runtime;

import java.io.File;
import java.nio.file.Path;
import java.util.List;

/**
 * The second JVM in the cache's concurrency tests. Args: cache dir, "fake" or "nvrtc", source, arch.
 * Prints {@code compiles=N diskHits=M bytes=B} for the parent to check.
 */
public final class CacheWorker {
    public static void main(String[] args) {
        KernelCompiler c = args[1].equals("fake") ? new FakeCompiler(700) : NvrtcCompiler.standard();
        var cache = new KernelCache(Path.of(args[0]), c);
        var k = cache.get(new CompileRequest(args[2], "worker.cu", List.of(), args[3]));
        System.out.println("compiles=" + cache.compiles() + " diskHits=" + cache.diskHits() + " bytes=" + k.cubin().length);
    }

    /** Starts a worker JVM with this JVM's java and a class path that holds the runtime and the tests. */
    static Process start(String... args) throws java.io.IOException {
        String javaCmd = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        var cp = new java.util.LinkedHashSet<String>(List.of(System.getProperty("java.class.path").split(File.pathSeparator)));
        // the junit console launcher and surefire load tests through their own class loaders, so
        // java.class.path may hold only the launcher: add where these classes really came from
        for (Class<?> k : List.of(KernelCache.class, CacheWorker.class)) {
            try {
                cp.add(Path.of(k.getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
            } catch (java.net.URISyntaxException e) {
                throw new IllegalStateException(e);
            }
        }
        var cmd = new java.util.ArrayList<>(List.of(javaCmd, "--enable-native-access=ALL-UNNAMED", "-cp", String.join(File.pathSeparator, cp),
                CacheWorker.class.getName()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).start();
    }
}
