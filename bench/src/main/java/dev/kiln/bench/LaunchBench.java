package dev.kiln.bench;

import dev.kiln.runtime.Context;
import dev.kiln.runtime.CudaModule;
import dev.kiln.runtime.Dim3;
import dev.kiln.runtime.KernelArgs;

/** Cost of a kernel launch: eager through FFM, and per kernel inside one CUDA graph of many. */
final class LaunchBench {
    private LaunchBench() {}

    static void run(Context ctx, CudaModule m, Results out) {
        var k = m.kernel("tiny");
        try (var s = ctx.createStream(); var buf = ctx.allocate(4096); var a = ctx.createEvent(); var b = ctx.createEvent()) {
            var args = new KernelArgs(1).pointer(buf);
            Dim3 grid = Dim3.of(1), block = Dim3.of(32);
            int n = 20_000;
            for (int i = 0; i < n; i++) k.launch(s, grid, block, 0, args); // warm-up: JIT the Java path
            s.synchronize();
            double[] issue = new double[5], total = new double[5];
            for (int r = 0; r < 5; r++) {
                long t0 = System.nanoTime();
                for (int i = 0; i < n; i++) k.launch(s, grid, block, 0, args);
                long t1 = System.nanoTime();
                s.synchronize();
                long t2 = System.nanoTime();
                issue[r] = (t1 - t0) / 1e3 / n;
                total[r] = (t2 - t0) / 1e3 / n;
            }
            out.add("eager launch, host issue cost", Stats.median(issue), "us", "<= 10", "eager_issue_us", true);
            out.add("eager launch, end to end (issue + run)", Stats.median(total), "us", "<= 10", "eager_total_us", true);

            for (int kernels : new int[] {100, 1000}) {
                s.beginCapture();
                for (int i = 0; i < kernels; i++) k.launch(s, grid, block, 0, args);
                try (var g = s.endCapture(); var exec = g.instantiate()) {
                    for (int i = 0; i < 20; i++) exec.launch(s);
                    s.synchronize();
                    int replays = kernels == 100 ? 200 : 20;
                    double[] per = new double[7];
                    for (int r = 0; r < per.length; r++) {
                        a.record(s);
                        for (int i = 0; i < replays; i++) exec.launch(s);
                        b.record(s);
                        per[r] = b.elapsedMillis(a) * 1e3 / replays / kernels;
                    }
                    out.add("graph of " + kernels + " kernels, per kernel", Stats.median(per), "us", kernels == 100 ? "<= 4" : null,
                            "graph" + kernels + "_per_kernel_us", true);
                }
            }
        }
    }
}
