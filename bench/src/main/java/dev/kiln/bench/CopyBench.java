package dev.kiln.bench;

import dev.kiln.runtime.Context;
import dev.kiln.runtime.CudaModule;
import dev.kiln.runtime.Dim3;
import dev.kiln.runtime.KernelArgs;
import java.lang.foreign.Arena;

/**
 * Copy bandwidth: host to device and back (pinned and pageable), device to device through cuMemcpyDtoD
 * (the device's practical peak) and through a generated copy kernel. Device copies count bytes read plus
 * written, as PyTorch figures in shared/README.md do.
 */
final class CopyBench {
    private CopyBench() {}

    static final long HOST_BYTES = 256L << 20;
    static final long DEVICE_BYTES = 1L << 30;

    static void run(Context ctx, CudaModule m, Results out) {
        try (var s = ctx.createStream(); var a = ctx.createEvent(); var b = ctx.createEvent()) {
            try (var dev = ctx.allocate(HOST_BYTES); var pinned = ctx.allocatePinned(HOST_BYTES); var arena = Arena.ofConfined()) {
                var pageable = arena.allocate(HOST_BYTES, 4096);
                double[] h2d = new double[7], d2h = new double[7], h2dPage = new double[7], d2hPage = new double[7];
                double[] h2dPageEv = new double[7], d2hPageEv = new double[7];
                for (int r = -1; r < 7; r++) { // r = -1 is the warm-up
                    a.record(s);
                    dev.copyFromHostAsync(pinned.segment(), s);
                    b.record(s);
                    float up = b.elapsedMillis(a);
                    a.record(s);
                    dev.copyToHostAsync(pinned.segment(), s);
                    b.record(s);
                    float down = b.elapsedMillis(a);
                    long t0 = System.nanoTime();
                    dev.copyFromHost(pageable);
                    long t1 = System.nanoTime();
                    dev.copyToHost(pageable);
                    long t2 = System.nanoTime();
                    // the same pageable copies timed with events, as torch_runtime.py times them; the wall clock
                    // above also counts host-side work the events may not, so both are reported
                    a.record(s);
                    dev.copyFromHostAsync(pageable, s);
                    b.record(s);
                    float upEv = b.elapsedMillis(a);
                    a.record(s);
                    dev.copyToHostAsync(pageable, s);
                    b.record(s);
                    float downEv = b.elapsedMillis(a);
                    if (r < 0) continue;
                    h2dPageEv[r] = Stats.gbps(HOST_BYTES, upEv);
                    d2hPageEv[r] = Stats.gbps(HOST_BYTES, downEv);
                    h2d[r] = Stats.gbps(HOST_BYTES, up);
                    d2h[r] = Stats.gbps(HOST_BYTES, down);
                    h2dPage[r] = Stats.gbps(HOST_BYTES, (t1 - t0) / 1e6);
                    d2hPage[r] = Stats.gbps(HOST_BYTES, (t2 - t1) / 1e6);
                }
                out.add("host->device pinned (256 MiB)", Stats.median(h2d), "GB/s", null, "h2d_pinned_gbps", false);
                out.add("device->host pinned (256 MiB)", Stats.median(d2h), "GB/s", null, "d2h_pinned_gbps", false);
                out.add("host->device pageable, events (256 MiB)", Stats.median(h2dPageEv), "GB/s", null, "h2d_pageable_gbps", false);
                out.add("device->host pageable, events (256 MiB)", Stats.median(d2hPageEv), "GB/s", null, "d2h_pageable_gbps", false);
                out.add("host->device pageable, wall clock (256 MiB)", Stats.median(h2dPage), "GB/s", null, "h2d_pageable_wall_gbps", false);
                out.add("device->host pageable, wall clock (256 MiB)", Stats.median(d2hPage), "GB/s", null, "d2h_pageable_wall_gbps", false);
            }
            try (var src = ctx.allocate(DEVICE_BYTES); var dst = ctx.allocate(DEVICE_BYTES)) {
                src.fillAsync((byte) 7, s);
                double[] memcpy = new double[15], kernel = new double[15];
                var copy = m.kernel("copy4");
                long n4 = DEVICE_BYTES / 16;
                int block = 256;
                var args = new KernelArgs(3).pointer(dst).pointer(src).i64(n4);
                Dim3 grid = Dim3.cover(n4, block * 4);
                for (int r = -2; r < memcpy.length; r++) {
                    a.record(s);
                    dst.copyFromAsync(src, DEVICE_BYTES, s);
                    b.record(s);
                    float mc = b.elapsedMillis(a);
                    a.record(s);
                    copy.launch(s, grid, Dim3.of(block), 0, args);
                    b.record(s);
                    float kc = b.elapsedMillis(a);
                    if (r < 0) continue;
                    memcpy[r] = Stats.gbps(2 * DEVICE_BYTES, mc);
                    kernel[r] = Stats.gbps(2 * DEVICE_BYTES, kc);
                }
                byte[] check = dst.downloadBytes(16);
                for (byte x : check) if (x != 7) throw new AssertionError("copy kernel wrote " + x);
                double peak = Stats.median(memcpy), mine = Stats.median(kernel);
                out.add("device copy cuMemcpyDtoD (1 GiB, read+write)", peak, "GB/s", null, "d2d_copy_gbps", false);
                out.add("device copy, generated kernel (1 GiB)", mine, "GB/s", null, "d2d_copy_gbps", false);
                out.add("copy kernel / cuMemcpyDtoD", 100 * mine / peak, "%", ">= 85", null, false);
            }
        }
    }
}
