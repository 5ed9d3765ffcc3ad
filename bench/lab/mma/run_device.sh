#!/bin/bash
# One device call: build, correctness, timing. Logs under $OUT.
#   bash kernels/gpu/dev_mma/run_device.sh [what] [maxS]
set -o pipefail
OUT=${OUT:-/tmp/mma_out}; mkdir -p "$OUT"
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,temperature.gpu --format=csv,noheader
cd "$(dirname "$0")/../../.."
OUTBIN=/tmp/test_mma kernels/gpu/dev_mma/build.sh > "$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
grep -E "registers|spill" "$OUT/build.log" | grep -v " 0 bytes spill" | head -4
timeout ${LIMIT:-330} /tmp/test_mma ${1:-all} ${2:-131072} 2>&1 | tee "$OUT/run.log"
