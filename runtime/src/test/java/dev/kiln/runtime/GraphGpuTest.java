package dev.kiln.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class GraphGpuTest extends GpuTest {
    static final int N = 4096;
    static final int LAUNCHES = 100;

    static void hundredSteps(Kernel k, Stream s, DeviceBuffer y, DeviceBuffer x) {
        var args = new KernelArgs(4).pointer(y).pointer(x).i32(N).i32(0);
        for (int i = 0; i < LAUNCHES; i++) {
            args.setInt(3, i);
            k.launch(s, Dim3.cover(N, 128), Dim3.of(128), 0, args);
        }
    }

    static float[] javaSteps(float[] y0, float[] x) {
        float[] y = y0.clone();
        for (int k = 0; k < LAUNCHES; k++) for (int i = 0; i < N; i++) y[i] = y[i] * 0.5f + x[i] * (float) k;
        return y;
    }

    @Test
    void graphOfHundredLaunchesMatchesEagerLaunches() {
        float[] x = random(N, 20), y0 = random(N, 21);
        try (var m = cache.load(ctx, KERNELS, "kernels.cu"); var s = ctx.createStream();
             var dx = ctx.allocate(4 * N); var eager = ctx.allocate(4 * N); var graphed = ctx.allocate(4 * N)) {
            var k = m.kernel("step");
            dx.upload(x);
            eager.upload(y0);
            graphed.upload(y0);
            hundredSteps(k, s, eager, dx);
            s.synchronize();

            s.beginCapture();
            hundredSteps(k, s, graphed, dx);
            try (var g = s.endCapture(); var exec = g.instantiate()) {
                s.synchronize();
                assertArrayEquals(y0, graphed.downloadFloats(N), "capture must not run the kernels");
                exec.launch(s);
                s.synchronize();
            }
            float[] e = eager.downloadFloats(N);
            assertArrayEquals(e, graphed.downloadFloats(N));
            float[] want = javaSteps(y0, x);
            for (int i = 0; i < N; i++) assertEquals(want[i], e[i], 1e-3f * Math.max(1, Math.abs(want[i])), "element " + i);
        }
    }

    @Test
    void updateWithNewPointersRunsOnTheNewBuffers() {
        float[] x1 = random(N, 30), x2 = random(N, 31), y0 = random(N, 32);
        try (var m = cache.load(ctx, KERNELS, "kernels.cu"); var s = ctx.createStream();
             var dx1 = ctx.allocate(4 * N); var dy1 = ctx.allocate(4 * N); var dx2 = ctx.allocate(4 * N); var dy2 = ctx.allocate(4 * N);
             var ref = ctx.allocate(4 * N)) {
            var k = m.kernel("step");
            dx1.upload(x1);
            dx2.upload(x2);
            dy1.upload(y0);
            dy2.upload(y0);
            ref.upload(y0);
            hundredSteps(k, s, ref, dx2);

            s.beginCapture();
            hundredSteps(k, s, dy1, dx1);
            try (var g1 = s.endCapture(); var exec = g1.instantiate()) {
                s.beginCapture();
                hundredSteps(k, s, dy2, dx2);
                try (var g2 = s.endCapture()) {
                    exec.update(g2);
                }
                exec.launch(s);
                s.synchronize();
            }
            assertArrayEquals(y0, dy1.downloadFloats(N), "the old buffers are no longer written");
            assertArrayEquals(ref.downloadFloats(N), dy2.downloadFloats(N));
        }
    }
}
