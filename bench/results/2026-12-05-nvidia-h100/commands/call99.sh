#!/usr/bin/env bash
# 2026-12-05 (tenth session), call 99: why d04ba17's Quest is slower than 4acca28's at batch 16
# (call 97: 32K x 16 fa-xa:1 204 -> 239 us, 128K x 16 652 -> 779 us, H100). ncu durations of the
# score and select launches at 32K / 128K x 16 fa-xa:1 for P (4acca28, .p/) and N (the tree); then,
# in the time left, random draws with cuda.attn.wgmma forced (the family CI cannot run).
# Run from the repository root with `run`, carry [".p"] (git archive 4acca28 into .p, as call97.sh).
set -u
o=$OUT/qb16; mkdir -p $o; f=$o/qb16.txt
left() { echo $((560 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
cfg="-Dcuda=enabled -Dnvcc_arch=sm_90a -Dbench=true -Dopencl=disabled -Dhip=disabled"
(cd .p && meson setup build-b16 $cfg -Dtests=false >/dev/null && ninja -C build-b16 -j6 bench/elattn-decode-bench elattn-libs) > $o/build-p.log 2>&1 &
(meson setup build-b16 $cfg -Dtests=true >/dev/null && ninja -C build-b16 -j10 bench/elattn-decode-bench conformance/elattn-conformance elattn-libs) > $o/build-n.log 2>&1
wait; echo "builds $SECONDS s: P $(tail -1 $o/build-p.log | cut -c1-40) / N $(tail -1 $o/build-n.log | cut -c1-40)" >> $f
export PATH=$PATH:/usr/local/cuda/bin
for v in P N; do bin=.p/build-b16/bench/elattn-decode-bench; [ $v = N ] && bin=build-b16/bench/elattn-decode-bench
  for L in 32768 131072; do timeout $(lim 60) ncu --kernel-name regex:quest --launch-count 4 --metrics gpu__time_duration.sum,sm__warps_active.avg.pct_of_peak_sustained_active,launch__occupancy_limit_shared_mem,launch__grid_size $bin --device cuda:0 --head-dim 128 --dtype bf16 --lens $L --batch 16 --mix fa-xa:1 --page-budget 64 --warmup 0 --min-reps 1 --max-reps 2 --max-time 0.01 > $o/ncu-$v-$L.txt 2>&1
  echo "ncu $v $L x16 fa-xa:1: $(awk '/quest_(score|select)/ {k = ($0 ~ /score/) ? "score" : "select"} /gpu__time_duration|warps_active|occupancy_limit_shared|grid_size/ {printf "%s.%s=%s ", k, $1, $NF}' $o/ncu-$v-$L.txt)" >> $f; done; done
timeout $(lim 200) build-b16/conformance/elattn-conformance --backend cuda:0 --kernel cuda.attn.wgmma --random 600 --seed 1205005 --case /attn/ > $o/wgmma-draws.txt 2>&1
echo "wgmma draws rc=$?: $(tail -1 $o/wgmma-draws.txt) / wgmma PASS $(grep -c ' PASS .*kernel=cuda.attn.wgmma' $o/wgmma-draws.txt)" >> $f
grep " FAIL " $o/wgmma-draws.txt | head -5 | cut -c1-250 >> $f
echo "end $SECONDS s" >> $f
cat $f
