#!/usr/bin/env bash
# Call 23 (2026-12-03, second session): issue 11's 8K and 32K rows after this session's changes
# (host work of a run, BLOCK_SPARSE row ranges) beside the peers in one call: elattn-bench on
# cuda:0 (bf16, D64 and D128, dense, fa-ssa:0.75, fa-ssa:0.5, fa-xa:0.75), then peers.py
# (SDPA flash/cuDNN, Flex, the serial composition) with 2 and 4 FULL KV heads of 8.
set -u
o=$OUT/c23; mkdir -p $o
left() { echo $((575 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git log --oneline -1 > $o/commit.txt 2>&1; git status --short >> $o/commit.txt 2>&1
(meson setup build-N -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=false -Dbench=true >/dev/null && ninja -C build-N -j16) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-60)"
timeout $(lim 90) build-N/bench/elattn-bench --set paper --device cuda:0 --dtype bf16 --head-dim 64,128 --lens 8192,32768 --mix dense,fa-ssa:0.75,fa-ssa:0.5,fa-xa:0.75 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05 > $o/bench.txt 2>&1
echo "== ours: $(grep -E '^bf16' $o/bench.txt | awk '{print $2"/"$3"/"$4"="$6}' | tr '\n' ' ')"
for x in "64 2" "128 2" "64 4" "128 4"; do set -- $x
  d=$o/peers-bf16-d$1-nfa$2; mkdir -p $d
  timeout $(lim 110) env DTYPE=bf16 D=$1 NFA=$2 LENS=8192,32768 OUT=$d python3 shared/tools/peers.py > $d/peers.log 2>&1
  echo "peers D$1 NFA$2 rc=$? at $SECONDS s: $(grep -E 'S=' $d/peers.log | awk '{print $1, $(NF-8)}' | tr '\n' ';' | cut -c1-300)"
done
nvidia-smi > $o/machine.txt 2>&1
cd $OUT && tar czf c23.tgz c23
