package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.NvccPtx;
import dev.kiln.codegen.kernels.tile.WgmmaOps;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Test helper: what ptxas makes of a kernel for sm_90 ({@code nvcc -cubin -Xptxas -v}; sm_90a for wgmma kernels): registers per thread
 * and spill bytes. Skips the calling test without nvcc.
 */
record PtxasUsage(int registers, int spillStores, int spillLoads, String log) {
    private static final Pattern REGS = Pattern.compile("Used (\\d+) registers");
    private static final Pattern SPILL = Pattern.compile("(\\d+) bytes spill stores, (\\d+) bytes spill loads");

    static PtxasUsage of(String source) {
        String nvcc = NvccPtx.nvccOrSkip();
        try {
            Path dir = Files.createTempDirectory("kiln-ptxas");
            Path cu = dir.resolve("k.cu"), log = dir.resolve("k.log");
            Files.writeString(cu, source);
            String arch = source.contains(WgmmaOps.ARCH_MARKER) ? "-arch=sm_90a" : "-arch=sm_90"; // wgmma needs the arch-specific target
            Process p = new ProcessBuilder(nvcc, "-cubin", arch, "-Xptxas", "-v", "-o", dir.resolve("k.cubin").toString(), cu.toString())
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(300, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("nvcc -cubin timed out");
            }
            String text = Files.readString(log);
            if (p.exitValue() != 0) throw new AssertionError("nvcc -cubin failed:\n" + text);
            Matcher r = REGS.matcher(text), s = SPILL.matcher(text);
            if (!r.find() || !s.find()) throw new AssertionError("no register report from ptxas:\n" + text);
            return new PtxasUsage(Integer.parseInt(r.group(1)), Integer.parseInt(s.group(1)), Integer.parseInt(s.group(2)), text);
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    boolean spills() { return spillStores > 0 || spillLoads > 0; }
}
