#!/usr/bin/env bash
# One device call for the GEMM micro-benchmark (docs/gemm.md): torch.matmul figures, then Kiln's engine with
# every candidate config checked and timed, with Kiln/torch ratios. Run from the checkout root on the GPU
# machine after ../shared/gpu/pack:   bash bench/gemm-run.sh [.gpu] [shape set: all|big|model|layers|skinny|f32] [candidates]
# One set per call stays well inside a 10-minute device call (each config is compiled by NVRTC first).
P=${1:-.gpu}
SET=${2:-all}
CAND=${3:+--candidates $3}  # configs timed per shape, the chosen one first (default: GemmBench's, 10 for layers, else 5)
OUT=${OUT:-/tmp}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv
timeout 150 python3 bench/harness/gemm_torch.py --shapes $SET --out $OUT/torch_gemm.json; echo "torch rc=$?"
timeout 420 bash $P/run java dev.kiln.bench.GemmBench --shapes $SET $CAND --torch $OUT/torch_gemm.json --out $OUT 2>&1 | tee $OUT/gemm.log
