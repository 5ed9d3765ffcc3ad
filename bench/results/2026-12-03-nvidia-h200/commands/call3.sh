#!/usr/bin/env bash
# Call 3 (2026-12-03): XAttention estimation with strength-reduced copies and the wgmma issued
# before the next copies, selection without the one-thread sums (working tree, "new") against
# main (a worktree of HEAD, "base"): conformance, memcheck, checks, A/B timing, ncu, elattn-bench.
set -u
o=$OUT/c3; mkdir -p $o
cfg="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=true -Dbench=true -Dlab=true"
git worktree add -f /tmp/base HEAD > /dev/null 2>&1
t0=$SECONDS; (meson setup build-N $cfg >/dev/null && ninja -C build-N -j8) > $o/buildN.log 2>&1 &
(cd /tmp/base && meson setup build $cfg >/dev/null && ninja -C build -j8) > $o/buildbase.log 2>&1; wait
echo "builds $((SECONDS-t0)) s: $(tail -1 $o/buildN.log) | $(tail -1 $o/buildbase.log)"
C=build-N/conformance/elattn-conformance
timeout 90 $C --backend cuda:0 --case xattn/ --no-isolate > $o/conf_xattn.txt 2>&1; echo "conf xattn all families: $(tail -1 $o/conf_xattn.txt)"; grep -E "FAIL" $o/conf_xattn.txt | head -5
timeout 100 compute-sanitizer --tool memcheck $C --backend cuda:0 --case xattn/ --kernel cuda.xattn.wgmma --no-isolate > $o/memcheck.txt 2>&1; echo "memcheck: $(grep 'ERROR SUMMARY' $o/memcheck.txt | tail -1) / $(tail -1 $o/memcheck.txt)"
L=build-N/bench/lab/elattn-lab-xattn; LB=/tmp/base/build/bench/lab/elattn-lab-xattn
common="--device cuda:0 --dtype bf16 --causal 1 --block 128 --tau 0.9"
for args in "--head-dim 128 --hq 8 --hkv 2 --lq 6000 --lk 6000 --stride 16" "--head-dim 64 --hq 8 --hkv 2 --lq 5000,3001 --lk 5000,3001 --stride 8" "--head-dim 128 --hq 4 --hkv 4 --lq 4100 --lk 4100 --stride 4"; do
  timeout 60 $L $common $args --check 1 --check-len 6000 --iters 1 2>&1 | grep -oE "status=[a-z]+|kernel=[^ ]+|differ=[0-9]+|rows_tolerated=[0-9]+|rows_wrong=[0-9]+" | tr '\n' ' '; echo; done
f() { printf "%-5s D%-3s %-5s " "$1" "$2" "$3"; timeout 60 $4 $common --stride 16 --hq 32 --hkv 8 --head-dim $2 --lq $3 --lk $3 --check 0 --warmup 1 --iters ${ITERS:-5} 2>&1 | grep -oE "ms=[0-9.]+|ms_min=[0-9.]+|tflops=[0-9.]+" | tr '\n' ' '; echo; }
for D in 128 64; do for v in base new base new; do [ $v = base ] && B=$LB || B=$L; f $v $D 32k $B; done; done
for D in 128 64; do for v in base new base new; do [ $v = base ] && B=$LB || B=$L; ITERS=3 f $v $D 128k $B; done; done
xa="$L $common --stride 16 --hq 32 --hkv 8 --head-dim 128 --lq 32k --lk 32k --check 0 --warmup 0 --iters 1"
timeout 90 ncu --clock-control none --kernel-name regex:xattn_scores --launch-count 1 --section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats --section SchedulerStats --section ComputeWorkloadAnalysis --metrics sm__inst_executed_pipe_tensor_op_gmma.sum,sm__pipe_tensor_op_gmma_cycles_active.avg.pct_of_peak_sustained_elapsed,sm__pipe_tensor_cycles_active.avg.pct_of_peak_sustained_elapsed,smsp__average_warp_latency_issue_stalled_barrier.ratio,smsp__average_warp_latency_issue_stalled_long_scoreboard.ratio,smsp__average_warp_latency_issue_stalled_wait.ratio $xa > $o/ncu_xa.txt 2>&1; grep -E "Duration|DRAM Throughput|L2 Hit|Issue Slots|Eligible Warps|Issued Warp|gmma|tensor|stalled" $o/ncu_xa.txt | head -20
timeout 60 ncu --clock-control none --launch-count 4 --section SpeedOfLight $L $common --stride 16 --hq 32 --hkv 8 --head-dim 128 --lq 128k --lk 128k --check 0 --warmup 0 --iters 1 > $o/ncu_xa128k_all.txt 2>&1; grep -E "^  [a-z_].*\(|Duration" $o/ncu_xa128k_all.txt | cut -c1-90 | head -8
for v in new base; do [ $v = base ] && E=/tmp/base/build/bench/elattn-bench || E=build-N/bench/elattn-bench
  timeout 100 $E --set paper --device cuda:0 --dtype bf16 --head-dim 128 --lens 32768,131072 --mix dense,fa-xa:0.75 --no-check --no-router --no-serial --max-reps 3 --min-time 0 > $o/bench_$v.txt 2>&1; echo "== elattn-bench $v"; grep -E "dense|fa-xa" $o/bench_$v.txt | cut -c1-150 | tail -6; done
nvidia-smi > $o/machine.txt 2>&1; git log -1 --format=%H > $o/commit.txt; git diff > $o/working-tree.diff
cd $OUT && tar czf c3.tgz c3
