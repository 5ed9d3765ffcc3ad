#!/bin/sh
# Build the standalone harness (no dependency on the rest of the tree building):
#   kernels/gpu/dev_mma/build.sh [extra nvcc flags]
# ARCH overrides the targets (default sm_90a); OUTBIN the output path.
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
ARCH=${ARCH:--gencode arch=compute_90a,code=sm_90a}
OUTBIN=${OUTBIN:-$HERE/test_mma}
INC="-I$HERE/include -I$ROOT/api/include -I$ROOT/api/src -I$ROOT/kernels -I$ROOT/kernels/gpu"
nvcc -O2 $INC -c "$ROOT/api/src/schedule.c" -o "$OUTBIN.schedule.o"
nvcc -O3 -std=c++17 $ARCH -lineinfo --resource-usage $INC "$@" -o "$OUTBIN" "$HERE/test_mma.cu" "$OUTBIN.schedule.o"
