package dev.kiln.profile;

import dev.kiln.ir.Tensor;

import java.util.List;

/**
 * How to profile a compiled model. Immutable; start from {@link #defaults()}.
 *
 * @param runs     timed launches of each kernel (the median is kept)
 * @param warmup   untimed launches of each kernel before those
 * @param flushL2  overwrite the L2 cache before each timed launch, so weights come from device memory as in a
 *                 whole run of a large model (as Nsight Compute does by default)
 * @param replays  timed replays of the whole graph, for the total the kernel times are compared with
 * @param seed     seed of the random inputs used when {@code inputs} is empty
 * @param inputs   the inputs to run on (graph input order), or empty for random ones
 */
public record ProfileOptions(int runs, int warmup, boolean flushL2, int replays, long seed, List<Tensor> inputs) {
    public ProfileOptions {
        if (runs < 1 || replays < 1 || warmup < 0) throw new IllegalArgumentException("runs and replays must be positive, warmup not negative");
        inputs = List.copyOf(inputs);
    }

    /** 20 timed launches per kernel after 2 warm-ups, L2 flushed, 50 graph replays, random inputs from seed 0. */
    public static ProfileOptions defaults() { return new ProfileOptions(20, 2, true, 50, 0, List.of()); }

    public ProfileOptions withRuns(int n) { return new ProfileOptions(n, warmup, flushL2, replays, seed, inputs); }
    public ProfileOptions withWarmup(int n) { return new ProfileOptions(runs, n, flushL2, replays, seed, inputs); }
    public ProfileOptions withFlushL2(boolean f) { return new ProfileOptions(runs, warmup, f, replays, seed, inputs); }
    public ProfileOptions withReplays(int n) { return new ProfileOptions(runs, warmup, flushL2, n, seed, inputs); }
    public ProfileOptions withSeed(long s) { return new ProfileOptions(runs, warmup, flushL2, replays, s, inputs); }
    public ProfileOptions withInputs(List<Tensor> in) { return new ProfileOptions(runs, warmup, flushL2, replays, seed, in); }
}
