#!/usr/bin/env bash
# One device call: GPU tests, PyTorch figures, then the Kiln bench with ratios against them.
# Run from the checkout root on the GPU machine, with the packed runtime in $1 (default .gpu-rt).
P=${1:-.gpu-rt}
OUT=${OUT:-/tmp}
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv
bash $P/run java dev.kiln.runtime.Doctor
timeout 300 bash $P/run test --include-tag gpu > $OUT/tests.log 2>&1; echo "gpu tests rc=$?"
grep -E '✘|tests (successful|failed|aborted|skipped)|Exception|expected' $OUT/tests.log | head -40
timeout 120 python3 $P/torch_runtime.py > $OUT/torch.json 2> $OUT/torch.err; echo "torch rc=$?"; cat $OUT/torch.err | tail -3; cat $OUT/torch.json
timeout 240 bash $P/run java dev.kiln.bench.RuntimeBench --torch $OUT/torch.json 2>&1 | tee $OUT/bench.log
