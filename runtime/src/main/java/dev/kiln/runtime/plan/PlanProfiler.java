package dev.kiln.runtime.plan;

import dev.kiln.runtime.DeviceBuffer;
import dev.kiln.runtime.Event;
import dev.kiln.runtime.KernelArgs;
import dev.kiln.runtime.Stream;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Times every launch of a plan on the GPU alone, as a profiler would: CUDA events around one launch,
 * repeated, the median kept. The executor must have run once, so its input buffers hold real data.
 *
 * <p>The launches are walked in plan order starting from the inputs copied into the arena again, so each
 * launch reads the values it reads inside the graph (the arena reuses slots, so after a whole run an early
 * launch's inputs may be overwritten: a Gather would then read garbage indices). Repeating a launch is safe
 * because the memory plan never places a launch's output over its own inputs.
 *
 * <p>With {@code flushL2}, a write to a buffer larger than any L2 precedes each timed launch (outside the
 * events), so weights come from device memory as they do in a whole run of a model larger than the L2; without
 * it, repeats find their inputs in L2. Each figure includes the cost of an event pair around a launch; {@link
 * Result#emptyLaunchMs()} measures that floor with a launch that does nothing.
 */
public final class PlanProfiler {
    private PlanProfiler() {}

    /** The flush buffer: well above the L2 of current GPUs (H100/H200: 50 MB). */
    static final long FLUSH_BYTES = 256L << 20;

    /** @param runs timed repeats per launch; @param warmup untimed launches first (loads code and caches) */
    public record Options(int runs, int warmup, boolean flushL2) {
        public Options {
            if (runs < 1) throw new IllegalArgumentException("runs must be at least 1, not " + runs);
            if (warmup < 0) throw new IllegalArgumentException("warmup must not be negative, not " + warmup);
        }

        public static Options defaults() { return new Options(20, 2, true); }
    }

    /** Launch {@code launch} of the plan: the median and the fastest of its timed repeats, in milliseconds. */
    public record LaunchTime(int launch, double medianMs, double minMs) {}

    /** @param emptyLaunchMs median of a launch that does nothing, timed the same way: the floor of every figure */
    public record Result(List<LaunchTime> launches, double emptyLaunchMs, int runs, boolean flushedL2) {
        public Result { launches = List.copyOf(launches); }
    }

    public static Result profile(PlanExecutor ex, Options o) {
        synchronized (ex) { // PlanExecutor's methods lock the executor: no run interleaves with this
            if (ex.closed()) throw new IllegalStateException("executor of " + ex.plan().name() + " is closed");
            if (ex.runs() == 0) throw new IllegalStateException("run the plan once before profiling it (the arena needs real inputs)");
            var ctx = ex.context();
            Stream s = ex.stream();
            long flushBytes = Math.min(FLUSH_BYTES, ctx.memoryInfo()[0] / 4);
            try (Event start = ctx.createEvent(); Event end = ctx.createEvent();
                 DeviceBuffer flush = o.flushL2() && flushBytes > 0 ? ctx.allocate(flushBytes) : null) {
                ex.copyInputsToArena();
                List<LaunchTime> out = new ArrayList<>();
                List<ExecutionPlan.Launch> launches = ex.plan().launches();
                for (int i = 0; i < launches.size(); i++) {
                    KernelArgs a = ex.args(i);
                    int launch = i;
                    double[] ms = time(s, start, end, flush, o, () -> ex.launch(launch, a));
                    out.add(new LaunchTime(i, median(ms), Arrays.stream(ms).min().orElse(0)));
                }
                double empty = median(time(s, start, end, flush, o, ex::launchEmpty));
                s.synchronize();
                return new Result(out, empty, o.runs(), flush != null);
            }
        }
    }

    private static double[] time(Stream s, Event start, Event end, DeviceBuffer flush, Options o, Runnable launch) {
        for (int w = 0; w < o.warmup(); w++) launch.run();
        double[] ms = new double[o.runs()];
        for (int r = 0; r < ms.length; r++) {
            if (flush != null) flush.fillAsync((byte) r, s);
            start.record(s);
            launch.run();
            end.record(s);
            ms[r] = end.elapsedMillis(start);
        }
        return ms;
    }

    static double median(double[] xs) {
        double[] c = xs.clone();
        Arrays.sort(c);
        int n = c.length;
        return n == 0 ? 0 : n % 2 == 1 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
    }
}
