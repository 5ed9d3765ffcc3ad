#!/usr/bin/env bash
# Call 117 (2026-12-06, fifteenth session, H100, warm; call 114's build-fm), run from the repository
# root with `run`; the tree: 895819a. The OpenCL decode's fused-merge bound at batch 16 and 64:
# 256 (every head merged by its last chunk) against 32, alternating, one process each.
. shared/tools/nvidia-opencl.sh
B=build-fm/bench/elattn-decode-bench
for run in 256:a 32:b 256:c 32:d; do bound=${run%%:*}
  ELATTN_OPENCL_DECODE_MERGE_CHUNKS=$bound timeout 60 $B --device opencl:1 --head-dim 128 --dtype bf16 --flush read \
    --batch 16,64 --lens 8192,32768,131072 --mix dense,fa-ssa:0.75 --max-time 0.15 > $OUT/b16-$bound-${run#*:}.txt 2>&1
  echo "== bound $bound rc=$?"; sed -n '/^results/,$p' $OUT/b16-$bound-${run#*:}.txt | grep -E '^ +[0-9]' | cut -c1-60
done
