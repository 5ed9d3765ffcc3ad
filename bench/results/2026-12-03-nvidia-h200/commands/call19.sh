#!/usr/bin/env bash
# Call 19 (2026-12-03): decode's prologue reading the page table of its first tiles at once (B, the
# working tree) against fd1d073 (A, carried in .base): B's decode conformance and memcheck, A B A B
# (batch 1 and 16); then ncu of the wgmma attention kernel, D64 32K, dense against all-STREAMING
# heads (fa-ssa:1): where a STREAMING tile loses time.
set -u
o=$OUT/c19; mkdir -p $o
left() { echo $((540 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
cfg="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true"
(cd .base && meson setup ../build-A $cfg -Dtests=false >/dev/null && ninja -C ../build-A -j8) > $o/buildA.log 2>&1 &
(meson setup build-B $cfg -Dtests=true >/dev/null && ninja -C build-B -j8) > $o/buildB.log 2>&1; wait
echo "builds $SECONDS s: A $(tail -1 $o/buildA.log | cut -c1-50) / B $(tail -1 $o/buildB.log | cut -c1-50)"
C=build-B/conformance/elattn-conformance
timeout $(lim 90) $C --backend cuda:0 --case decode/ --no-isolate > $o/conf_B.txt 2>&1; echo "conf B decode: $(tail -1 $o/conf_B.txt)"
ELATTN_DECODE_UPLOAD_METADATA=1 timeout $(lim 90) $C --backend cuda:0 --case decode/ --no-isolate > $o/conf_B_upload.txt 2>&1; echo "conf B decode (upload): $(tail -1 $o/conf_B_upload.txt)"
timeout $(lim 120) compute-sanitizer --tool memcheck $C --backend cuda:0 --case decode/ --kernel cuda.decode.mma --no-isolate > $o/memcheck_B.txt 2>&1; echo "memcheck B: $(grep -E 'ERROR SUMMARY' $o/memcheck_B.txt | tail -1) / $(tail -1 $o/memcheck_B.txt)"
db="--device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch 1,16 --mix dense,fa-ssa:0.75 --max-time 0.3"
i=0; for v in A B A B; do i=$((i+1)); timeout $(lim 40) build-$v/bench/elattn-decode-bench $db > $o/$v$i.txt 2>&1; echo "== $v$i: $(grep -A14 '^results' $o/$v$i.txt | grep -E '^ +[0-9]+ +[0-9]+ ' | awk '{print $1"x"$2, $3, $4}' | tr '\n' ';')"; done
E=build-B/bench/elattn-bench
for mix in dense fa-ssa:1; do
  timeout $(lim 70) ncu --clock-control none --kernel-name regex:attn_kernel --launch-count 1 --section SpeedOfLight --section WarpStateStats --section SchedulerStats --metrics sm__pipe_tensor_op_gmma_cycles_active.avg.pct_of_peak_sustained_active,sm__cycles_elapsed.avg.per_second,smsp__average_warp_latency_issue_stalled_barrier.ratio,smsp__average_warp_latency_issue_stalled_long_scoreboard.ratio $E --set paper --device cuda:0 --dtype bf16 --head-dim 64 --lens 32768 --mix $mix --no-check --no-router --no-serial --max-reps 1 --min-reps 1 --warmup 0 > $o/ncu_d64_32k_${mix/:/}.txt 2>&1
  echo "ncu D64 32K $mix: $(grep -E 'Duration|gmma_cycles|Issued Warp|No Eligible|Eligible Warps' $o/ncu_d64_32k_${mix/:/}.txt | tr -s ' ' | tr '\n' ';')"
done
nvidia-smi > $o/machine.txt 2>&1; git diff > $o/working-tree.diff
cd $OUT && tar czf c19.tgz c19
