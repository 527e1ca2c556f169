package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.KernelSpec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;


/**
 * Compiles generated kernels with {@code nvcc -ptx -arch=sm_90}; tests skip
 * when nvcc is not on the PATH. Set {@code -Dkiln.dumpKernels=DIR} to keep every source.
 */
final class Nvcc {
    private Nvcc() {}

    /** Compiles a kernel with nvcc for sm_90 (through the shared {@link dev.kiln.codegen.NvccPtx}); skips without nvcc. */
    static void compile(KernelSpec k) {
        dump(k);
        dev.kiln.codegen.NvccPtx.nvccOrSkip();
        dev.kiln.codegen.NvccPtx.compile(k.source());
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

}
