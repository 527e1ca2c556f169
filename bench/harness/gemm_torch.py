"""torch.matmul on the GEMM micro-benchmark shapes, timed as dev.kiln.bench.GemmBench times Kiln's kernels.

Each shape's matmul (into a preallocated output) is captured N times back to back in a CUDA graph (N so that
one replay takes about 0.5 ms, at most 50), the graph replayed `--reps` times between CUDA events after a
warm-up, and the median time per matmul reported. fp32 runs with TF32 off. Writes one flat JSON object
{"<key>_ms": ..., "<key>_tflops": ...} to --out (keys as GemmShapes.key(): f16_128x768x768, ..._bt for a
[N,K] weight read transposed); the table goes to stderr.

  python3 bench/harness/gemm_torch.py --out torch_gemm.json [--shapes all|big|model|layers|ragged|skinny|f32] [--reps 20]
"""
import argparse
import json
import math
import statistics
import sys

import torch

MODEL_NK = [(768, 768), (2304, 768), (3072, 768), (768, 3072), (1024, 1024), (3072, 1024), (4096, 1024), (1024, 4096), (50257, 768)]


def shapes(which):
    out = []
    every = which == "all"
    if every or which == "big":
        out.append(("f16", 8192, 8192, 8192, False))
    if every or which == "model":
        out += [("f16", m, n, k, False) for m in (128, 145) for n, k in MODEL_NK]
        out.append(("f16", 128, 50257, 768, True))
    if which == "layers":  # the model set without the LM heads: the transformer layers' GEMMs
        out += [("f16", m, n, k, False) for m in (128, 145) for n, k in MODEL_NK if n != 50257]
    if which == "ragged":  # M = 145 at the widest N (GemmShapes' ragged set)
        out += [("f16", 145, n, k, False) for n, k in ((3072, 768), (3072, 1024), (4096, 1024), (2304, 768))]
    if every or which == "skinny":
        out += [("f16", 1, 1000, 2048, False), ("f16", 1, 4096, 4096, False)]
    if every or which == "f32":
        out += [("f32", 128, 768, 768, False), ("f32", 128, 3072, 768, False), ("f32", 128, 768, 3072, False), ("f32", 128, 2304, 768, False), ("f32", 128, 50257, 768, True),
                ("f32", 1, 1000, 2048, False), ("f32", 2048, 2048, 2048, False)]
    return out


def key(dt, m, n, k, bt):
    return f"{dt}_{m}x{n}x{k}" + ("_bt" if bt else "")


def time_ms(fn, reps):
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    fn()
    torch.cuda.synchronize()
    a.record()
    fn()
    b.record()
    b.synchronize()
    per = max(1, min(50, math.ceil(0.5 / max(a.elapsed_time(b), 1e-4))))
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        fn()  # warm-up on the side stream, as capture requires
    torch.cuda.current_stream().wait_stream(s)
    torch.cuda.synchronize()
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        for _ in range(per):
            fn()
    for _ in range(3):
        g.replay()
    ms = []
    for _ in range(reps):
        a.record()
        g.replay()
        b.record()
        b.synchronize()
        ms.append(a.elapsed_time(b) / per)
    return statistics.median(ms)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=None)
    p.add_argument("--shapes", default="all")
    p.add_argument("--reps", type=int, default=20)
    args = p.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    dev = torch.device("cuda")
    gen = torch.Generator(device=dev).manual_seed(0)
    r = {}
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}", file=sys.stderr)
    for dt, m, n, k, bt in shapes(args.shapes):
        t = torch.float16 if dt == "f16" else torch.float32
        a = torch.rand(m, k, device=dev, dtype=t, generator=gen) * 2 - 1
        w = torch.rand((n, k) if bt else (k, n), device=dev, dtype=t, generator=gen) * 2 - 1
        wb = w.t() if bt else w
        c = torch.empty(m, n, device=dev, dtype=t)
        ms = time_ms(lambda: torch.matmul(a, wb, out=c), args.reps)
        kk = key(dt, m, n, k, bt)
        r[kk + "_ms"] = ms
        r[kk + "_tflops"] = 2.0 * m * n * k / (ms * 1e-3) / 1e12
        print(f"{kk:24s} {ms * 1e3:10.2f} us {r[kk + '_tflops']:8.2f} TFLOP/s", file=sys.stderr)
    text = json.dumps(r, indent=1)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
