#!/usr/bin/env bash
# Call 38: where D64's every-block-kept launch loses to dense (issue 11 goal 4: 0.88-0.90 of
# dense after call 37). ncu on the attention launch alone (--kernel-name attn_kernel: the
# XAttention kernels have other names) of each, bf16 D64 8K, one launch; the per-instruction
# stall samples of each exported as CSV.
set -u
o=$OUT/c38; mkdir -p $o
git log --oneline -1 > $o/commit.txt 2>&1; git status --short >> $o/commit.txt 2>&1
cfg="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false"
(meson setup build $cfg >/dev/null && ninja -C build -j16) > $o/build.log 2>&1; echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-30)"
b="build/bench/elattn-bench --set paper --device cuda:0 --dtype bf16 --head-dim 64 --lens 8192 --no-check --no-router --no-serial --warmup 0 --min-reps 1 --max-reps 1 --min-time 0"
for m in dense fa-xa:1; do n=${m/:/}
  timeout 150 ncu --kernel-name regex:^attn_kernel --launch-count 1 --section SpeedOfLight --section WarpStateStats --section SchedulerStats --section SourceCounters --section LaunchStats -o $o/$n $b --mix $m --tau 1.0 > $o/ncu-$n.txt 2>&1
  ncu -i $o/$n.ncu-rep --print-summary none > $o/ncu-$n-details.txt 2>&1
  ncu -i $o/$n.ncu-rep --page source --csv --print-source sass > $o/sass-$n.csv 2>&1
  echo "$m: $(grep -E '^  [a-z_]+.*attn_kernel|Duration|Warp Cycles Per Issued|Issue Slots Busy|Eligible Warps' $o/ncu-$n-details.txt | tr -s ' ' | tr '\n' ';' | cut -c1-400)"
done
nvidia-smi > $o/machine.txt 2>&1
cd $OUT && tar czf c38.tgz c38 && ls -la c38 | head -20
# The fa-xa:1 profile above caught dense's launch again: --mix fa-xa:1 times dense first. It was
# run again on the warm machine with the same build and --launch-skip 1 (the folder's
# ncu-fa-xa1*.txt and sass-fa-xa1.csv.gz are from this run):
#   ncu --kernel-name regex:^attn_kernel --launch-skip 1 --launch-count 1 --section SpeedOfLight \
#     --section WarpStateStats --section SchedulerStats --section SourceCounters --section LaunchStats \
#     -o $o/fa-xa1 $b --mix fa-xa:1 --tau 1.0
