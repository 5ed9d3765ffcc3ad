#!/usr/bin/env bash
# Call 2 (2026-12-03): XAttention estimation with clusters and a pipeline across tiles (working tree)
# against main (a worktree of HEAD); correctness per cluster shape; timing per shape; ncu.
set -u
o=$OUT/c2; mkdir -p $o
cfg="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=true -Dbench=true -Dlab=true"
git worktree add -f /tmp/base HEAD > /dev/null 2>&1
t0=$SECONDS; (meson setup build-N $cfg >/dev/null && ninja -C build-N -j16) > $o/buildN.log 2>&1 &
(cd /tmp/base && meson setup build $cfg >/dev/null && ninja -C build -j16 bench/lab/elattn-lab-xattn) > $o/buildbase.log 2>&1; wait
echo "builds $((SECONDS-t0)) s: $(tail -1 $o/buildN.log) | $(tail -1 $o/buildbase.log)"
C=build-N/conformance/elattn-conformance
timeout 90 $C --backend cuda:0 --case xattn/ --no-isolate > $o/conf_default.txt 2>&1; echo "conf xattn all families: $(tail -1 $o/conf_default.txt)"; grep -E "FAIL" $o/conf_default.txt | head -5
for sh in 1,1 2,1 1,2 4,1; do ELATTN_LAB_XATTN_CLUSTER=$sh timeout 40 $C --backend cuda:0 --case xattn/ --kernel cuda.xattn.wgmma --no-isolate > $o/conf_$sh.txt 2>&1; echo "conf wgmma $sh: $(tail -1 $o/conf_$sh.txt)"; grep -E "FAIL" $o/conf_$sh.txt | head -3; done
timeout 100 compute-sanitizer --tool memcheck $C --backend cuda:0 --case xattn/ --kernel cuda.xattn.wgmma --no-isolate > $o/memcheck.txt 2>&1; echo "memcheck: $(grep 'ERROR SUMMARY' $o/memcheck.txt | tail -1) / $(tail -1 $o/memcheck.txt)"
timeout 100 compute-sanitizer --tool racecheck $C --backend cuda:0 --case xattn/ --kernel cuda.xattn.wgmma --quick --no-isolate > $o/racecheck.txt 2>&1; echo "racecheck: $(grep -E 'RACECHECK SUMMARY|ERROR SUMMARY' $o/racecheck.txt | tail -1) / $(tail -1 $o/racecheck.txt)"
L=build-N/bench/lab/elattn-lab-xattn; LB=/tmp/base/build/bench/lab/elattn-lab-xattn
common="--device cuda:0 --dtype bf16 --hq 32 --hkv 8 --causal 1 --block 128 --stride 16 --tau 0.9"
timeout 60 $L $common --head-dim 128 --hq 8 --hkv 2 --lq 6000 --lk 6000 --check 1 --check-len 6000 --iters 1 > $o/check.txt 2>&1; cut -c1-330 $o/check.txt
f() { printf "%-10s " "$1"; timeout ${4:-40} env ELATTN_LAB_XATTN_CLUSTER=$2 $3 $common --check 0 --warmup 1 --iters ${ITERS:-5} $5 2>&1 | grep -oE "kernel=[^ ]+|ms=[0-9.]+|ms_min=[0-9.]+|tflops=[0-9.]+" | tr '\n' ' '; echo; }
for D in 128 64; do for len in 32k; do echo "== D$D $len"; for v in base 2,4 1,1 2,1 1,4 2,2 4,2 base 2,4; do if [ $v = base ]; then f base - $LB 40 "--head-dim $D --lq $len --lk $len"; else f $v $v $L 40 "--head-dim $D --lq $len --lk $len"; fi; done; done; done
for D in 128 64; do echo "== D$D 128k"; for v in base 2,4 1,4 2,2 base 2,4; do if [ $v = base ]; then ITERS=3 f base - $LB 60 "--head-dim $D --lq 128k --lk 128k"; else ITERS=3 f $v $v $L 60 "--head-dim $D --lq 128k --lk 128k"; fi; done; done
xa="$L $common --head-dim 128 --lq 32k --lk 32k --check 0 --warmup 0 --iters 1"
timeout 90 ncu --clock-control none --kernel-name regex:xattn_scores --launch-count 1 --section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats --section SchedulerStats --metrics lts__t_bytes.sum.per_second,sm__pipe_tensor_op_gmma_cycles_active.avg.pct_of_peak_sustained_active,smsp__average_warp_latency_issue_stalled_barrier.ratio,smsp__average_warp_latency_issue_stalled_long_scoreboard.ratio,smsp__average_warp_latency_issue_stalled_wait.ratio $xa > $o/ncu_xa.txt 2>&1; grep -E "Duration|DRAM Throughput|L2 Hit|L2 Cache Throughput|Issue Slots|Eligible Warps|gmma|stalled" $o/ncu_xa.txt | head -20
timeout 60 ncu --clock-control none --launch-count 4 --section SpeedOfLight $L $common --head-dim 128 --lq 128k --lk 128k --check 0 --warmup 0 --iters 1 > $o/ncu_xa128k_all.txt 2>&1; grep -E "^  [a-z_].*\(|Duration" $o/ncu_xa128k_all.txt | cut -c1-90 | head -10
nvidia-smi > $o/machine.txt 2>&1; git log -1 --format=%H > $o/commit.txt; git diff > $o/working-tree.diff
cd $OUT && tar czf c2.tgz c2
