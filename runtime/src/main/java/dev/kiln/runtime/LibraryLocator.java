package dev.kiln.runtime;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Finds the CUDA driver and NVRTC shared libraries by name. Folders named by CUDA_HOME / CUDA_PATH come
 * first (an explicit choice beats whatever the loader would pick), then bare names for the dynamic
 * loader (LD_LIBRARY_PATH, ldconfig). The environment is a parameter so the order is testable.
 */
public record LibraryLocator(Map<String, String> env) {

    /** NVRTC sonames, newest first: a newer NVRTC still targets older GPUs, not the other way round. */
    static final List<String> NVRTC_VERSIONS = List.of("libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so");

    public static LibraryLocator fromEnvironment() {
        return new LibraryLocator(System.getenv());
    }

    /** The driver comes with the NVIDIA kernel driver, not the toolkit, so it is found through the loader only. */
    public List<String> driverCandidates() {
        return List.of("libcuda.so.1", "libcuda.so", "/usr/lib/wsl/lib/libcuda.so.1");
    }

    public List<String> nvrtcCandidates() {
        var out = new LinkedHashSet<String>();
        for (String var : List.of("CUDA_HOME", "CUDA_PATH")) {
            String home = env.get(var);
            if (home == null || home.isBlank()) continue;
            for (String dir : List.of("lib64", "lib", "targets/x86_64-linux/lib", "targets/sbsa-linux/lib")) {
                for (String so : NVRTC_VERSIONS) out.add(Path.of(home, dir, so).toString());
            }
        }
        out.addAll(NVRTC_VERSIONS);
        return List.copyOf(out);
    }

    /** Outcome of trying candidates in order: the library if one opened, and why each earlier one did not. */
    public record Found(Optional<SymbolLookup> lookup, String chosen, List<String> tried) {
        public boolean ok() { return lookup.isPresent(); }

        public String reason() {
            return ok() ? "loaded " + chosen : "none of these could be loaded: " + String.join("; ", tried);
        }
    }

    public Found open(List<String> candidates) {
        var tried = new ArrayList<String>();
        for (String c : candidates) {
            try {
                if (c.startsWith("/")) {
                    if (!Files.exists(Path.of(c))) { tried.add(c + " (no such file)"); continue; }
                    return new Found(Optional.of(SymbolLookup.libraryLookup(Path.of(c), Arena.global())), c, tried);
                }
                return new Found(Optional.of(SymbolLookup.libraryLookup(c, Arena.global())), c, tried);
            } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
                tried.add(c + " (" + shortReason(e) + ")");
            }
        }
        return new Found(Optional.empty(), null, tried);
    }

    public Found openDriver() { return open(driverCandidates()); }

    public Found openNvrtc() { return open(nvrtcCandidates()); }

    private static String shortReason(Throwable e) {
        String m = e.getMessage();
        return m == null ? e.getClass().getSimpleName() : m.lines().findFirst().orElse(m);
    }
}
