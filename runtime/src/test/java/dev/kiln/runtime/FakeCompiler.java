package dev.kiln.runtime;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/** Stands in for NVRTC: the "cubin" is the source's bytes; it can be slow, to widen race windows. */
class FakeCompiler implements KernelCompiler {
    final AtomicInteger calls = new AtomicInteger();
    final long millis;

    FakeCompiler(long millis) {
        this.millis = millis;
    }

    public String version() { return "fake-1"; }

    public CompiledKernel compile(CompileRequest r) {
        calls.incrementAndGet();
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return new CompiledKernel(r.arch(), r.source().getBytes(StandardCharsets.UTF_8), "ptx".getBytes(StandardCharsets.UTF_8), "ok");
    }
}
