#!/bin/bash
# Build the standalone harness for sm_90a, check it against the CPU reference,
# then time it. Run from the repository root on the GPU machine:
#   bash kernels/gpu/dev_wgmma/build_and_run.sh [check|bench|all|stages]
# "stages" builds 2- and 3-stage K/V rings, checks the 3-stage one, times both.
set -u
cd "$(dirname "$0")"
OUTDIR=${OUT:-/tmp/wgmma-out}; mkdir -p "$OUTDIR"
B=/tmp/build-wgmma; mkdir -p $B
LOG=$OUTDIR/results.txt
INC="-I. -Iinclude -I.. -I../.. -I../../../api/src -I../../../api/include"
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv,noheader
gcc -O2 -c $INC ../../../api/src/schedule.c -o $B/schedule.o || exit 1
build() { # name extra-flags
  nvcc -gencode arch=compute_90a,code=sm_90a -O3 -std=c++17 -Xcompiler -fopenmp --resource-usage \
      $2 $INC harness.cu $B/schedule.o -o $B/$1 -lgomp 2>&1 | grep -E "registers|spill|warning|error|C75"
  [ -x $B/$1 ] || exit 1
  cuobjdump -sass $B/$1 > $B/$1.sass 2>/dev/null && \
    echo "$1 SASS: HGMMA $(grep -c HGMMA $B/$1.sass) UTMALDG $(grep -c UTMALDG $B/$1.sass) LDL/STL $(grep -cE 'LDL|STL' $B/$1.sass)"
}
what=${1:-all}
export OMP_NUM_THREADS=16
rc=0
if [ "$what" = stages ]; then
  build harness2 "" | grep -v "ptxas info\|bytes stack"
  build harness3 "-DELATTN_WGMMA_STAGES=3" | grep -v "ptxas info\|bytes stack"
  $B/harness3 check $LOG || rc=1
  if [ $rc = 0 ]; then
    for h in harness2 harness3 harness2 harness3; do
      WGMMA_VARIANTS=12 $B/$h bench $LOG | grep TIME || rc=1
    done
    WGMMA_VARIANTS=2 timeout 100 compute-sanitizer --tool memcheck $B/harness3 check > $OUTDIR/memcheck.txt 2>&1
    echo "memcheck rc=$? $(grep -E 'ERROR SUMMARY' $OUTDIR/memcheck.txt)"
  fi
  exit $rc
fi
build harness ""
if [ "$what" = check ] || [ "$what" = all ]; then
  $B/harness check $LOG || rc=1
fi
if [ $rc = 0 ] && { [ "$what" = bench ] || [ "$what" = all ]; }; then
  $B/harness bench $LOG || rc=1
fi
if [ $rc = 0 ] && [ "$what" = all ]; then
  timeout 150 compute-sanitizer --tool memcheck $B/harness check > $OUTDIR/memcheck.txt 2>&1
  echo "memcheck rc=$? $(grep -E 'ERROR SUMMARY' $OUTDIR/memcheck.txt)"
fi
exit $rc
