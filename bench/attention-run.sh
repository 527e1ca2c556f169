#!/usr/bin/env bash
# One device call for the attention micro-benchmark (docs/performance.md, issue 7): SDPA flash figures, then Kiln's
# chosen tile and the head-size-128 rivals of FlashConfig.WIDE_128 checked and timed at the shapes, with
# torch/Kiln ratios per tile. Run from the checkout root on the GPU machine after ../shared/gpu/pack:
#   bash bench/attention-run.sh [.gpu] [--configs LIST] [--shapes "B,H,S,D[,causal];..."]
# Default tiles: the current WIDE_128 (m128w4n32sl) and its spill-free rivals (vote softmax 'v', deferred loads 'd',
# 48-key tiles). At D64 the chosen tiles are not these; their rows show what the rivals would do there.
# CONFIGS=LIST in the environment replaces the default tiles (--configs adds to them), e.g. the wgmma tiles (FlashWgmma):
#   CONFIGS=m128w4n32sl,m128w8n128g,m128w8n128gp3,m128w8n96gp4,m128w8n64gp4 bash bench/attention-run.sh .gpu
P=${1:-.gpu}
shift || true
OUT=${OUT:-/tmp}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
CONFIGS=${CONFIGS:-m128w4n32sl,m128w4n32sdl,m128w4n32sdv,m128w4n32sv,m128w4n48sv,m128w4n48sdv}
SHAPES="1,32,8192,128;1,32,8192,128,1;8,16,1024,64;8,16,1024,64,1;1,12,128,64"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv
timeout 60 python3 bench/harness/attention_torch.py --out $OUT --shapes "$SHAPES" > $OUT/attention_torch.txt 2>&1; echo "torch rc=$?"
timeout 270 bash $P/run java dev.kiln.bench.AttentionBench --out $OUT --torch $OUT/attention_torch.json \
  --shapes "$SHAPES" --configs "$CONFIGS" "$@" 2>&1 | tee $OUT/attention.log
