#!/usr/bin/env bash
# Call 73 (2026-12-04, fourth session): is the D128 32K hybrid's excess over its parts structural or dynamic?
# ncu of the wgmma attention kernel on the fused mix (fa-ssa:0.75, 32 / 8 heads) and on its parts run alone
# (FULL part: dense 8 / 2; STREAMING part: fa-ssa:1 24 / 6; and fa-ssa:1 32 / 8), first with ncu's locked
# base clock (--clock-control base: no power cap, no boost) and then with the clock free (none). If the fused
# kernel takes the sum of its parts at a locked clock, the excess comes from the clock under power; if not,
# the launch itself costs it and ncu's sections say where. Then the benchmark's ideal lines (elattn-bench
# report_ideals) on the GPU for the first time. Build carried (build-ncu), rebuilt here when it does not run.
set -u
o=$OUT/c73; mkdir -p $o; f=$o/c73.txt
git log --oneline -1 > $o/tree.txt; git status --short >> $o/tree.txt
B=build-ncu/bench/elattn-bench
if ! $B --help >/dev/null 2>&1 || ! $B --set paper --device cuda:0 --dtype bf16 --head-dim 128 --lens 1024 --mix dense \
     --no-check --no-router --no-serial --min-reps 1 --max-reps 1 --min-time 0 >$o/probe.txt 2>&1; then
  rm -rf build-ncu
  (meson setup build-ncu -Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false \
    && ninja -C build-ncu -j16 bench/elattn-bench elattn-libs) > $o/build.log 2>&1
  echo "rebuilt ($SECONDS s)" >> $f
fi
prof() { # prof CLOCK HEADS MIX
  local tag=ncu-$1-${2/:/-}-${3/:/-}
  sleep 2
  timeout 120 ncu --clock-control $1 --kernel-name regex:attn_kernel --launch-count 4 \
    --section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats --section Occupancy \
    --metrics gpu__time_duration.sum,lts__t_sector_hit_rate.pct,dram__bytes_read.sum,sm__cycles_active.avg \
    $B --set paper --device cuda:0 --dtype bf16 --head-dim 128 --lens 32768 --heads $2 --mix $3 \
    --no-check --no-router --no-serial --warmup 1 --min-reps 1 --max-reps 1 --min-time 0 > $o/$tag.txt 2>&1
  echo "== $tag" >> $f
  grep -E "attn_kernel|gpu__time_duration.sum|lts__t_sector_hit_rate|dram__bytes_read.sum|sm__cycles_active.avg|Compute \(SM\) Throughput|L2 Cache Throughput|DRAM Throughput|Warp Cycles Per Issued|Stall" $o/$tag.txt | sed 's/  */ /g' >> $f
}
for clk in base none; do
  prof $clk 32:8 fa-ssa:0.75
  prof $clk 8:2 dense
  prof $clk 24:6 fa-ssa:1
  prof $clk 32:8 fa-ssa:1
done
sleep 3
echo "== bench with ideals" >> $f
timeout 200 $B --set paper --device cuda:0 --dtype bf16 --head-dim 128 --lens 8192,32768 --mix dense,fa-ssa:1,fa-ssa:0.75,fa-ssa:0.5 \
  --no-check --no-router --no-serial --max-reps 5 --min-time 0.05 --json $o/bench.json > $o/bench.txt 2>&1
cat $o/bench.txt >> $f
cd $OUT && tar czf c73.tgz c73
