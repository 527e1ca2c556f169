"""PyTorch figures for the same things RuntimeBench measures, on the same machine, in the same run.

Prints one flat JSON object (keys match RuntimeBench's torch keys) on stdout; everything else on stderr.
Launch cost: x.add_(1) on a one-element tensor (PyTorch's smallest kernel), eager and in a CUDA graph.
Copies: tensor.copy_ with CUDA events; device copies count bytes read plus written.
"""
import json
import statistics
import sys
import time

import torch


def events_ms(fn, reps):
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    out = []
    fn()
    torch.cuda.synchronize()
    for _ in range(reps):
        a.record()
        fn()
        b.record()
        b.synchronize()
        out.append(a.elapsed_time(b))
    return statistics.median(out)


def main():
    dev = torch.device("cuda")
    r = {}
    x = torch.zeros(1, device=dev)
    n = 20000
    for _ in range(n):
        x.add_(1)
    torch.cuda.synchronize()
    issue, total = [], []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            x.add_(1)
        t1 = time.perf_counter()
        torch.cuda.synchronize()
        t2 = time.perf_counter()
        issue.append((t1 - t0) * 1e6 / n)
        total.append((t2 - t0) * 1e6 / n)
    r["eager_issue_us"] = statistics.median(issue)
    r["eager_total_us"] = statistics.median(total)

    s = torch.cuda.Stream()
    for kernels, replays in ((100, 200), (1000, 20)):
        g = torch.cuda.CUDAGraph()
        with torch.cuda.stream(s):
            x.add_(1)  # warm-up on the side stream, as capture requires
        torch.cuda.synchronize()
        with torch.cuda.graph(g):
            for _ in range(kernels):
                x.add_(1)
        for _ in range(20):
            g.replay()
        ms = events_ms(lambda: [g.replay() for _ in range(replays)], 7)
        r[f"graph{kernels}_per_kernel_us"] = ms * 1e3 / replays / kernels

    nbytes = 256 << 20
    d = torch.empty(nbytes, dtype=torch.uint8, device=dev)
    pinned = torch.empty(nbytes, dtype=torch.uint8).pin_memory()
    pageable = torch.empty(nbytes, dtype=torch.uint8)
    gb = lambda b, ms: b / (ms * 1e-3) / 1e9
    r["h2d_pinned_gbps"] = gb(nbytes, events_ms(lambda: d.copy_(pinned, non_blocking=True), 7))
    r["d2h_pinned_gbps"] = gb(nbytes, events_ms(lambda: pinned.copy_(d, non_blocking=True), 7))
    r["h2d_pageable_gbps"] = gb(nbytes, events_ms(lambda: d.copy_(pageable), 7))
    r["d2h_pageable_gbps"] = gb(nbytes, events_ms(lambda: pageable.copy_(d), 7))

    def wall_ms(fn, reps=7):
        fn()
        torch.cuda.synchronize()
        out = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            torch.cuda.synchronize()
            out.append((time.perf_counter() - t0) * 1e3)
        return statistics.median(out)

    r["h2d_pageable_wall_gbps"] = gb(nbytes, wall_ms(lambda: d.copy_(pageable)))
    r["d2h_pageable_wall_gbps"] = gb(nbytes, wall_ms(lambda: pageable.copy_(d)))

    big = 1 << 30
    src = torch.full((big,), 7, dtype=torch.uint8, device=dev)
    dst = torch.empty_like(src)
    r["d2d_copy_gbps"] = gb(2 * big, events_ms(lambda: dst.copy_(src), 15))
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}", file=sys.stderr)
    print(json.dumps(r))


if __name__ == "__main__":
    main()
