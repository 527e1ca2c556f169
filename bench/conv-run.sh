#!/usr/bin/env bash
# One device call for the channels-last conv/pool micro-benchmark (docs/gemm.md): torch conv2d/pool figures on
# channels_last fp16, then Kiln's kernels (default and every autotuning candidate) checked and timed, with
# Kiln/torch ratios. Run from the checkout root on the GPU machine after ../shared/gpu/pack:
#   bash bench/conv-run.sh [.gpu] [--only SUBSTRING]
P=${1:-.gpu}
shift || true
OUT=${OUT:-/tmp}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv
(cd bench/harness && timeout 150 python3 conv_torch.py --out $OUT/torch_conv.json); echo "torch rc=$?"
timeout 420 bash $P/run java dev.kiln.bench.ConvBench --torch $OUT/torch_conv.json --out $OUT "$@" 2>&1 | tee $OUT/conv.log
