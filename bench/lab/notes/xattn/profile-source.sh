#!/usr/bin/env bash
# One device call (thirtieth session): where the XAttention estimation's warps wait, per SASS
# instruction. ncu's source page of `xattn_scores_kernel` (wgmma family, bf16, D128, 32K, 32 / 8
# heads, S 16, block 128), with the speed-of-light, memory, scheduler and warp-state sections of
# the same launch, so the stall samples can be put against the loop's lines (the wgmma wait, the
# block barrier, the cp.async wait, the copies' address arithmetic, the softmax, the fold).
# Then elattn-lab-xattn's time for the same shape, checked against the reference.
# From the repository root with `run`; any Hopper GPU. Output: $OUT/prof/ and $OUT/prof.txt.
set -u
o=$OUT/prof; mkdir -p $o
left() { echo $((${BUDGET:-300} - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt 1 ] && l=1; [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader > $o/machine.txt 2>&1
git log -1 --format=%H > $o/tree.txt; git status --short >> $o/tree.txt
bd=${BUILD_DIR:-build-prof} # a warm machine's build-B of pair-measure.sh is the same tree
([ -f $bd/build.ninja ] || meson setup $bd -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a \
   -Dbench=true -Dlab=true -Dtests=false >/dev/null; ninja -C $bd -j14 bench/lab/elattn-lab-xattn) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-60)" > $o/summary.txt
X=$bd/bench/lab/elattn-lab-xattn
shape="--device cuda:0 --dtype bf16 --causal 1 --block 128 --tau 0.9 --stride 16 --hq 32 --hkv 8 --head-dim ${D:-128} --lq 32k --lk 32k"
timeout $(lim 60) $X $shape --check 1 --check-len 2048 --warmup 1 --iters 5 > $o/lab.txt 2>&1
echo "lab: $(grep -oE 'differ=[0-9]+|ms=[0-9.]+|tflops=[0-9.]+' $o/lab.txt | tr '\n' ' ')" >> $o/summary.txt
timeout $(lim 150) ncu --kernel-name regex:xattn_scores_kernel --launch-count 1 --import-source yes \
  --section SpeedOfLight --section MemoryWorkloadAnalysis --section SchedulerStats --section WarpStateStats \
  --section SourceCounters --section InstructionStats -o $o/xa $X $shape --check 0 --warmup 0 --iters 1 > $o/ncu.log 2>&1
echo "ncu rc=$?" >> $o/summary.txt
ncu -i $o/xa.ncu-rep > $o/sections.txt 2>&1
ncu -i $o/xa.ncu-rep --page source --csv --print-source sass > $o/sass.csv 2>&1
echo "sass.csv: $(wc -l < $o/sass.csv) lines; $(head -1 $o/sass.csv | cut -c1-300)" >> $o/summary.txt
grep -E "Duration|L2 Hit|DRAM Throughput|L2 Cache Throughput|Shared|Eligible|Issued Warp|Stall|stall" $o/sections.txt \
  | tr -s ' ' | head -40 >> $o/summary.txt
cat $o/summary.txt > $OUT/prof.txt
cd $OUT && tar czf prof.tgz prof && cat prof.txt
