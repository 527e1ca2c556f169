"""torch conv2d / max_pool2d / avg_pool2d on channels_last fp16 tensors, for dev.kiln.bench.ConvBench's layers.

Timed as ConvBench (and gemm_torch.py) time kernels: the call captured N times back to back in a CUDA graph
(N so one replay takes about 0.5 ms, at most 50), replayed `--reps` times between CUDA events after a warm-up,
median per call. cudnn.benchmark is on (cuDNN picks its fastest algorithm). "<key>_ms" is the conv alone (Kiln's
kernel also adds the bias and Relu, so the ratio is conservative), "<key>_relu_ms" conv + bias + relu as two eager
kernels. Keys as ConvBench.Layer.key().

  python3 bench/harness/conv_torch.py --out torch_conv.json [--reps 20]
"""
import argparse
import json
import sys

import torch
import torch.nn.functional as F

from gemm_torch import time_ms

# (op, x NHWC, w [M,kh,kw,C/g] or kernel, stride, pad, group): the same list as ConvBench.LAYERS
LAYERS = [
    ("conv", (1, 224, 224, 3), (64, 7, 7, 3), 2, 3, 1),
    ("conv", (1, 224, 224, 8), (64, 7, 7, 8), 2, 3, 1),
    ("conv", (1, 56, 56, 64), (64, 3, 3, 64), 1, 1, 1),
    ("conv", (1, 56, 56, 64), (256, 1, 1, 64), 1, 0, 1),
    ("conv", (1, 56, 56, 256), (64, 1, 1, 256), 1, 0, 1),
    ("conv", (1, 56, 56, 128), (128, 3, 3, 128), 2, 1, 1),
    ("conv", (1, 14, 14, 256), (256, 3, 3, 256), 1, 1, 1),
    ("conv", (1, 7, 7, 512), (512, 3, 3, 512), 1, 1, 1),
    ("conv", (1, 14, 14, 1024), (2048, 1, 1, 1024), 2, 0, 1),
    ("conv", (1, 14, 14, 384), (64, 1, 1, 384), 1, 0, 1),
    ("conv", (1, 56, 56, 96), (24, 1, 1, 96), 1, 0, 1),
    ("conv", (1, 112, 112, 32), (32, 3, 3, 1), 1, 1, 32),
    ("conv", (1, 112, 112, 96), (96, 3, 3, 1), 2, 1, 96),
    ("conv", (1, 56, 56, 144), (144, 3, 3, 1), 1, 1, 144),
    ("conv", (1, 14, 14, 384), (384, 3, 3, 1), 1, 1, 384),
    ("conv", (1, 7, 7, 960), (960, 3, 3, 1), 1, 1, 960),
    ("conv", (1, 56, 56, 96), (96, 7, 7, 1), 1, 3, 96),
    ("conv", (1, 56, 56, 128), (128, 3, 3, 4), 1, 1, 32),
    ("conv", (32, 224, 224, 8), (64, 7, 7, 8), 2, 3, 1),
    ("conv", (32, 56, 56, 64), (64, 3, 3, 64), 1, 1, 1),
    ("conv", (32, 56, 56, 128), (128, 3, 3, 128), 2, 1, 1),
    ("conv", (32, 28, 28, 128), (128, 3, 3, 128), 1, 1, 1),
    ("conv", (32, 14, 14, 256), (256, 3, 3, 256), 1, 1, 1),
    ("conv", (32, 7, 7, 512), (512, 3, 3, 512), 1, 1, 1),
    ("conv", (32, 56, 56, 256), (64, 1, 1, 256), 1, 0, 1),
    ("conv", (32, 56, 56, 256), (128, 1, 1, 256), 1, 0, 1),
    ("maxpool", (1, 112, 112, 64), 3, 2, 1, 1),
    ("avgpool", (1, 7, 7, 2048), 7, 1, 0, 1),
]


def key(op, x, w, s, p, g):
    xs = "x".join(map(str, x))
    if op == "conv":
        return f"conv_{xs}_{'x'.join(map(str, w))}_s{s}p{p}g{g}"
    return f"{op}_{xs}_k{w}s{s}p{p}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=None)
    ap.add_argument("--reps", type=int, default=20)
    args = ap.parse_args()
    torch.backends.cudnn.benchmark = True
    dev = torch.device("cuda")
    r = {}
    print(f"torch {torch.__version__}, cudnn {torch.backends.cudnn.version()}, {torch.cuda.get_device_name()}", file=sys.stderr)
    for op, x, w, s, p, g in LAYERS:
        n, h, wd, c = x
        xt = torch.randn(n, c, h, wd, device=dev, dtype=torch.float16).to(memory_format=torch.channels_last)
        k = key(op, x, w, s, p, g)
        if op == "conv":
            m, kh, kw, cg = w
            wt = (torch.randn(m, cg, kh, kw, device=dev, dtype=torch.float16) * 0.1).to(memory_format=torch.channels_last)
            bt = torch.randn(m, device=dev, dtype=torch.float16)
            r[k + "_ms"] = time_ms(lambda: F.conv2d(xt, wt, None, s, p, 1, g), args.reps)
            r[k + "_relu_ms"] = time_ms(lambda: F.relu(F.conv2d(xt, wt, bt, s, p, 1, g), inplace=True), args.reps)
        elif op == "maxpool":
            r[k + "_ms"] = time_ms(lambda: F.max_pool2d(xt, w, s, p), args.reps)
        else:
            r[k + "_ms"] = time_ms(lambda: F.avg_pool2d(xt, w, s, p), args.reps)
        print(f"{k:48s} {r[k + '_ms'] * 1e3:9.2f} us" + (f"  (+bias+relu {r[k + '_relu_ms'] * 1e3:9.2f} us)" if op == "conv" else ""), file=sys.stderr)
    text = json.dumps(r, indent=1)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
