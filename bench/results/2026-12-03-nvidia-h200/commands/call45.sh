#!/usr/bin/env bash
# Call 45 (2026-12-03, sixth session): where STREAMING heads lose their time at head dim 128
# (issue 11 goal 3): all-STREAMING heads (fa-ssa:1) run at about 0.7 of dense's per-tile rate at
# 32K. ncu on one attention launch of each (bf16 D128 32K; --mix fa-ssa:1 times dense first, so
# its launch is the second), with the per-instruction stall samples exported as CSV.
set -u
o=$OUT/c45; mkdir -p $o
git log --oneline -1 > $o/commit.txt 2>&1; git status --short >> $o/commit.txt 2>&1
cfg="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false"
(meson setup build $cfg >/dev/null && ninja -C build -j16) > $o/build.log 2>&1; echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-30)"
b="build/bench/elattn-bench --set paper --device cuda:0 --dtype bf16 --head-dim 128 --lens 32768 --no-check --no-router --no-serial"
timeout 60 $b --mix dense,fa-ssa:1,fa-ssa:0.75 --max-reps 5 --min-time 0.05 > $o/bench.txt 2>&1
echo "bench: $(grep -E '^bf16' $o/bench.txt | awk '{print $4"="$6"("$10")"}' | tr '\n' ' ')"
for m in dense fa-ssa:1; do n=${m/:/}; skip=0; [ $m = dense ] || skip=1
  timeout 200 ncu --kernel-name regex:^attn_kernel --launch-skip $skip --launch-count 1 --section SpeedOfLight --section WarpStateStats --section SchedulerStats --section SourceCounters --section LaunchStats --section MemoryWorkloadAnalysis --metrics sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active -o $o/$n $b --mix $m --warmup 0 --min-reps 1 --max-reps 1 --min-time 0 > $o/ncu-$n.txt 2>&1
  ncu -i $o/$n.ncu-rep --print-summary none > $o/ncu-$n-details.txt 2>&1
  ncu -i $o/$n.ncu-rep --page source --csv --print-source sass > $o/sass-$n.csv 2>&1; gzip $o/sass-$n.csv
  echo "$m: $(grep -E 'Duration|Warp Cycles Per Issued|Issue Slots Busy|Eligible Warps|hmma_cycles|L2 Cache Throughput|Grid Size' $o/ncu-$n-details.txt | tr -s ' ' | tr '\n' ';' | cut -c1-500)"
done
rm -f $o/*.ncu-rep
nvidia-smi > $o/machine.txt 2>&1
cd $OUT && tar czf c45.tgz c45
