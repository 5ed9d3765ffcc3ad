#!/usr/bin/env bash
# One device call (thirtieth session): XAttention's estimation with a cluster of two CTAs per item
# (B, the working tree with cluster-pairs.patch) against main (A, carried as .base/), both with the
# lab-only grid cap ELATTN_LAB_XATTN_CTAS (ctas-cap-env.patch, applied to A here). Prepare:
#   rm -rf .base && mkdir .base && git archive HEAD | tar xf - -C .base && rm -rf .base/bench/results
# From the repository root with `run`; any Hopper GPU. Output: $OUT/pair.txt, $OUT/pair.tgz.
# First warp-specialised-measure.sh, this folder's A/B call (B's correctness: conformance xattn/
# with each tensor-core family forced, memcheck and racecheck; elattn-lab-xattn A B A B at 32K, D128
# and D64, and A B at 128K; elattn-bench's selection share), given all but the last 130 s. Then the
# question behind B, on the same builds: is the estimation slowed by L2 holding too few items' Q?
# A with its grid capped at 66 and 100 CTAs of 132 (fewer items' Q in L2 at once; if the time grows
# by less than the CTAs shrink, the CTAs ran faster), B capped at 66, and ncu's L2 hit rate and
# DRAM figures for A and B. BUDGET (default 570 s) caps the whole call.
set -u
budget=${BUDGET:-570}
patch -p1 -d .base < bench/lab/notes/xattn/ctas-cap-env.patch > /dev/null || { echo "ctas-cap-env.patch does not apply to .base/"; exit 2; }
NAME=pair BUDGET=$((budget - 130)) bash bench/lab/notes/xattn/warp-specialised-measure.sh 2>&1 | tee $OUT/pair.txt
o=$OUT/pair
left() { echo $((budget - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt 1 ] && l=1; [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
common="--device cuda:0 --dtype bf16 --causal 1 --block 128 --tau 0.9 --stride 16 --hq 32 --hkv 8 --head-dim 128 --lq 32k --lk 32k"
cap() { printf "%s D128 32k, grid cap %s: " $1 $2; ELATTN_LAB_XATTN_CTAS=$2 timeout $(lim 40) build-$1/bench/lab/elattn-lab-xattn $common \
  --check 1 --check-len 2048 --warmup 1 --iters 5 2>&1 | grep -oE "differ=[0-9]+|ms=[0-9.]+|ms_min=[0-9.]+|tflops=[0-9.]+" | tr '\n' ' '; echo; }
{ cap A 66; cap A 100; cap B 66; } 2>&1 | tee $o/lab-cap.txt | tee -a $OUT/pair.txt
for v in A B; do [ "$(left)" -gt 25 ] || break
  timeout $(lim 40) ncu --kernel-name regex:xattn_scores_kernel --launch-count 1 --section SpeedOfLight --section MemoryWorkloadAnalysis \
    build-$v/bench/lab/elattn-lab-xattn $common --check 0 --warmup 0 --iters 1 > $o/ncu-$v.txt 2>&1
  echo "ncu $v: $(grep -E 'Duration|L2 Hit Rate|DRAM Throughput|L2 Cache Throughput' $o/ncu-$v.txt | tr -s ' ' | tr '\n' ';')" | tee -a $OUT/pair.txt; done
echo "end $SECONDS s" | tee -a $OUT/pair.txt
cd $OUT && tar czf pair.tgz pair
