#!/usr/bin/env bash
# Compiles and runs each case folder written by GpuCasesTest, then compares outputs (needs nvcc, a GPU, numpy).
dir=${1:?case folder}
here=$(cd "$(dirname "$0")" && pwd)
ls -d "$dir"/*/ | xargs -P 16 -I{} bash -c 'cd {} && nvcc -arch=sm_90 -o main main.cu > log 2>&1 && ./main >> log 2>&1 && touch ran'
python3 "$here/compare.py" "$dir"
