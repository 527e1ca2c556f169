package dev.kiln.runtime.plan;

import dev.kiln.runtime.NvrtcCompiler;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The NVRTC options plans are compiled with: the runtime's defaults plus {@code -I} of the CUDA include
 * folder (generated kernels include {@code cuda_fp16.h}), found from {@code $CUDA_HOME}, {@code $CUDA_PATH}
 * or {@code /usr/local/cuda}. The options are part of the kernel cache key, so they must be stable.
 */
public final class CompileFlags {
    private CompileFlags() {}

    public static List<String> standard() { return forInclude(cudaInclude(System.getenv()), System.getProperty("kiln.nvrtcOptions", "")); }

    /**
     * @param extra more NVRTC options, space-separated ({@code -Dkiln.nvrtcOptions="--pch"} to try NVRTC's
     *              automatic precompiled headers; docs/performance.md says how to measure them)
     */
    static List<String> forInclude(Path include, String extra) {
        List<String> o = new ArrayList<>(NvrtcCompiler.defaultOptions());
        if (include != null) o.add("-I" + include);
        for (String x : extra.strip().split("\\s+")) if (!x.isEmpty()) o.add(x);
        return List.copyOf(o);
    }

    /** The CUDA include folder holding {@code cuda_fp16.h}, or null when none is found. */
    public static Path cudaInclude(Map<String, String> env) {
        for (String root : new String[] {env.get("CUDA_HOME"), env.get("CUDA_PATH"), "/usr/local/cuda"}) {
            if (root == null || root.isBlank()) continue;
            Path inc = Path.of(root, "include");
            if (Files.isRegularFile(inc.resolve("cuda_fp16.h"))) return inc;
        }
        return null;
    }
}
