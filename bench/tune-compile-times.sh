#!/usr/bin/env bash
# CPU-side proxy for the NVRTC time of what the autotune stage compiles (there is no NVRTC without a GPU): nvcc -cubin
# for each .cu that TuneCandidates wrote (sm_90a for wgmma kernels, as CompileRequest picks), JOBS at a time; prints
# each file's seconds and the sums for the stage's compiles and for the plan's kernels left to the load.
#   bash bench/tune-compile-times.sh DIR [JOBS]      (DIR from: java ... dev.kiln.bench.TuneCandidates MODEL DIR)
D=${1:?usage: tune-compile-times.sh DIR [JOBS]}
J=${2:-2}
one() {
  local a=sm_90 t0
  grep -q "KILN_ARCH_SPECIFIC 1" "$1" && a=sm_90a
  t0=$(date +%s%N)
  nvcc -std=c++17 -cubin -arch=$a -w -o /dev/null "$1" >/dev/null 2>&1 || echo "FAILED $1" >&2
  printf '%s %s %.2f\n' "$a" "$1" "$(echo "($(date +%s%N) - $t0) / 1000000000" | bc -l)"
}
export -f one
for set in "$D" "$D/plan" "$D/plan-all"; do
  ls "$set"/*.cu >/dev/null 2>&1 || continue
  ls "$set"/*.cu | xargs -P "$J" -I{} bash -c 'one {}' > "$set/times.txt"
  awk -v s="$set" '{n++; t+=$3; if ($1=="sm_90a") {w++; wt+=$3}} END {printf "%s: %d compiles, %.1f s of nvcc (%d wgmma, %.1f s)\n", s, n, t, w, wt}' "$set/times.txt"
done
