"""SDPA flash-attention figures for AttentionBench (docs/attention.md), timed the way it times Kiln's kernel.

fp16 Q, K, V [B, H, S, D] (random, contiguous), torch.nn.functional.scaled_dot_product_attention under
sdpa_kernel(SDPBackend.FLASH_ATTENTION), causal and not. Per shape: the median of single launches between
CUDA events after warm-up ("ms"), and the per-call median of a CUDA graph of back-to-back calls replayed
between events ("ms_batched", no launch gaps). TFLOP/s counts 4*B*H*S*L*D, half of it when causal.

Usage: python3 bench/harness/attention_torch.py [--out DIR] [--shapes "B,H,S,D[,causal];..."]
Prints one flat JSON object (keys like b8h16s1024d64_causal_ms) on stdout, which AttentionBench reads with
--torch FILE; progress goes to stderr. With --out, also writes DIR/attention_torch.json.
"""
import argparse
import json
import os
import statistics
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

DEFAULT = "8,16,1024,64,0;8,16,1024,64,1;1,32,8192,128,0;1,32,8192,128,1;1,12,128,64,0;1,16,145,64,0"


def key(b, h, s, d, causal):
    return f"b{b}h{h}s{s}d{d}" + ("_causal" if causal else "")


def time_single(fn):
    a, z = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for _ in range(5):
        fn()
    a.record(); fn(); z.record(); z.synchronize()
    first = a.elapsed_time(z)
    reps = int(max(20, min(300, 300 / max(first, 1e-3))))
    out = []
    for _ in range(reps):
        a.record(); fn(); z.record(); z.synchronize()
        out.append(a.elapsed_time(z))
    return statistics.median(out), first


def time_graph(fn, first):
    group = int(max(1, min(50, 2 / max(first, 1e-3))))
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        for _ in range(group):
            fn()
    g.replay()
    a, z = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    out = []
    for _ in range(7):
        a.record(); g.replay(); z.record(); z.synchronize()
        out.append(a.elapsed_time(z) / group)
    return statistics.median(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    ap.add_argument("--shapes", default=DEFAULT)
    args = ap.parse_args()
    torch.manual_seed(0)
    dev = torch.device("cuda")
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}", file=sys.stderr)
    r = {}
    for spec in args.shapes.split(";"):
        p = [int(x) for x in spec.split(",")]
        b, h, s, d = p[:4]
        causal = len(p) > 4 and p[4] != 0
        q = (torch.rand(b, h, s, d, device=dev) * 4 - 2).half()
        k = (torch.rand(b, h, s, d, device=dev) * 4 - 2).half()
        v = (torch.rand(b, h, s, d, device=dev) * 2 - 1).half()

        def fn():
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal)

        with sdpa_kernel(SDPBackend.MATH):  # the flash backend agrees with the math one
            ref = F.scaled_dot_product_attention(q.float(), k.float(), v.float(), is_causal=causal)
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):  # only flash: an error rather than a silent fallback
            err = (fn().float() - ref).abs().max().item()
            ms, first = time_single(fn)
            bat = time_graph(fn, first)
        flops = 4.0 * b * h * s * s * d / (2 if causal else 1)
        kk = key(b, h, s, d, causal)
        r[kk + "_ms"] = ms
        r[kk + "_ms_batched"] = bat
        r[kk + "_tflops"] = flops / (ms * 1e-3) / 1e12
        r[kk + "_tflops_batched"] = flops / (bat * 1e-3) / 1e12
        r[kk + "_max_err"] = err
        print(f"{kk}: {ms:.4f} ms ({r[kk + '_tflops']:.1f} TFLOP/s), batched {bat:.4f} ms ({r[kk + '_tflops_batched']:.1f}), "
              f"max err vs math {err:.3g}", file=sys.stderr)
        del q, k, v, ref
        torch.cuda.empty_cache()
    text = json.dumps(r, indent=1)
    print(text)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "attention_torch.json"), "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
