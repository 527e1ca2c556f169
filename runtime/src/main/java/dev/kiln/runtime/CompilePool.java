package dev.kiln.runtime;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * NVRTC in parallel: a bounded pool of daemon threads (one per processor, or {@code -Dkiln.nvrtcThreads=N}),
 * one NVRTC program per task (NVRTC is thread-safe across programs). Tasks touch no CUDA context, so the
 * caller's thread keeps all context work (module loads, copies) and can do it while the pool compiles.
 * Plans and autotuning candidates go through the same pool.
 */
public final class CompilePool {
    private CompilePool() {}

    /** The number of compiles that run at once. */
    public static final int THREADS = Math.max(1, Integer.getInteger("kiln.nvrtcThreads", Runtime.getRuntime().availableProcessors()));

    private static final ThreadGroup GROUP = new ThreadGroup("kiln-nvrtc");
    private static final AtomicInteger COUNT = new AtomicInteger();
    private static final ExecutorService POOL = Executors.newFixedThreadPool(THREADS, r -> {
        Thread t = new Thread(GROUP, r, "kiln-nvrtc-" + COUNT.incrementAndGet());
        t.setDaemon(true);
        return t;
    });

    /**
     * Starts {@code compile} on every request; the futures complete in any order. {@code progress} hears
     * {@code ("NVRTC", done, total)} after each. From a pool thread (a compile that compiles) the work runs
     * inline, since waiting on the pool from inside it could exhaust it.
     */
    public static List<CompletableFuture<CompiledKernel>> submit(List<CompileRequest> requests,
                                                                 Function<CompileRequest, CompiledKernel> compile, Progress progress) {
        int total = requests.size();
        AtomicInteger done = new AtomicInteger();
        boolean inline = Thread.currentThread().getThreadGroup() == GROUP;
        List<CompletableFuture<CompiledKernel>> out = new ArrayList<>(total);
        for (CompileRequest r : requests) {
            CompletableFuture<CompiledKernel> f = inline ? CompletableFuture.completedFuture(null).thenApply(x -> compile.apply(r))
                    : CompletableFuture.supplyAsync(() -> compile.apply(r), POOL);
            out.add(f.whenComplete((k, e) -> progress.update("NVRTC", done.incrementAndGet(), total)));
        }
        return out;
    }

    /** The results in order, once all are done; else the first failure in request order, unwrapped. */
    public static List<CompiledKernel> await(List<CompletableFuture<CompiledKernel>> futures) {
        CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).exceptionally(e -> null).join();
        List<CompiledKernel> out = new ArrayList<>(futures.size());
        for (CompletableFuture<CompiledKernel> f : futures) out.add(Background.join(f));
        return out;
    }
}
