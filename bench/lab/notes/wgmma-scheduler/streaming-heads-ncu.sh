#!/usr/bin/env bash
# Written 2026-12-04 (third session), not run: the session's device time was spent. The next step for the
# D128 32K hybrid's excess over its parts (NOTES.md, "the D128 32K hybrid above its parts"): ncu of the wgmma
# kernel on fa-ssa:1 (every KV head STREAMING) at 32K with 24 / 6 and 32 / 8 heads, where the time per
# CTA-item grows from 33.5 to 37-39 us. Each bench process launches dense (its reference) and then
# fa-ssa:1: both kernels are profiled, in that order. Run from the repository root on the GPU machine
# with $OUT set; build first (about 60 s) or carry a build made here (meson -Dcuda=enabled
# -Dnvcc_arch=sm_90a, ninja bench/elattn-bench elattn-libs: about 21 MB).
set -u
o=$OUT/streaming-ncu; mkdir -p $o
B=${BUILD:-build-ncu}/bench/elattn-bench
[ -x "$B" ] || { meson setup build-ncu -Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a \
    -Dbench=true -Dtests=false >/dev/null && ninja -C build-ncu bench/elattn-bench elattn-libs >/dev/null; }
for h in 24:6 32:8; do
  timeout 60 ncu --kernel-name regex:attn_kernel --launch-count 2 --section SpeedOfLight --section MemoryWorkloadAnalysis \
    --metrics gpu__time_duration.sum,lts__t_sector_hit_rate.pct,dram__bytes_read.sum,sm__cycles_active.avg \
    "$B" --set paper --device cuda:0 --dtype bf16 --head-dim 128 --lens 32768 --heads $h --mix fa-ssa:1 \
    --no-check --no-router --no-serial --warmup 0 --min-reps 1 --max-reps 1 --min-time 0 > $o/ncu-${h/:/-}.txt 2>&1
  echo "== $h"; grep -E "gpu__time_duration|hit_rate|dram__bytes_read|L2 Cache Throughput|DRAM Throughput" $o/ncu-${h/:/-}.txt
done
