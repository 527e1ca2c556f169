#!/usr/bin/env bash
# Issue 7's standalone wgmma check on the GPU machine, from the checkout root: bash bench/wgmma/run.sh
# Builds wgmma_check.cu (the generated kernels in wgmma_kernels.cuh) for sm_90a, with cuBLAS as the baseline
# when it links, and runs it. Exit status 1 when any case gives wrong results; 124 when the run passes
# ${LIMIT:-240} seconds (a TMA kernel whose barrier byte counts were wrong would wait forever).
set -u
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
BIN=${TMPDIR:-/tmp}/wgmma_check
FLAGS="-std=c++17 -O2 -gencode arch=compute_90a,code=sm_90a -diag-suppress 177"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv 2>/dev/null
"$NVCC" --version | tail -1
if ! "$NVCC" $FLAGS -DWITH_CUBLAS -o "$BIN" bench/wgmma/wgmma_check.cu -lcublas; then
  echo "(built without cuBLAS)"
  "$NVCC" $FLAGS -o "$BIN" bench/wgmma/wgmma_check.cu || exit 2
fi
timeout "${LIMIT:-240}" "$BIN"
