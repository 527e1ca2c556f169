package dev.kiln.runtime;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;

/**
 * Work on a platform thread of its own, as a future: not the common pool, which has one thread on a two-core
 * machine, so two start-up jobs (the bundle's check beside its IR, CUDA's start beside the CLI) would queue
 * behind each other instead of running side by side. Daemon threads: an abandoned job never holds the JVM.
 * {@link #join} gives a future's result or rethrows its failure as the task threw it.
 */
public final class Background {
    private Background() {}

    public static <T> CompletableFuture<T> start(String name, Supplier<T> work) {
        CompletableFuture<T> f = new CompletableFuture<>();
        Thread.ofPlatform().name(name).daemon().start(() -> {
            try {
                f.complete(work.get());
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        });
        return f;
    }

    /** {@code f}'s result; its failure rethrown as it was thrown in the task (CompileException, CudaException...). */
    public static <T> T join(CompletableFuture<T> f) {
        try {
            return f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error err) throw err;
            throw e;
        }
    }
}
