#!/usr/bin/env bash
# Call 1 (2026-12-03): decode on main (the c796500 PTX) against the shared-memory merge patch
# (A B A B, one build folder each), their conformance and memcheck; batch-1 peers; ncu of the
# XAttention estimation kernel and of the dense wgmma kernel (tensor pipe).
set -u
o=$OUT/c1; mkdir -p $o
A=build-A; B=build-B
cfg="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=true -Dbench=true -Dlab=true"
t0=$SECONDS; (meson setup $A $cfg >/dev/null && ninja -C $A -j16) > $o/buildA.log 2>&1; echo "build A $((SECONDS-t0)) s: $(tail -1 $o/buildA.log)"
git apply bench/lab/notes/decode/merge-in-shared-memory.patch && echo "patch applied"
t0=$SECONDS; (meson setup $B $cfg >/dev/null && ninja -C $B -j16) > $o/buildB.log 2>&1; echo "build B $((SECONDS-t0)) s: $(tail -1 $o/buildB.log)"
git apply -R bench/lab/notes/decode/merge-in-shared-memory.patch
for v in A B; do
  bd=build-$v
  timeout 60 $bd/conformance/elattn-conformance --backend cuda:0 --case decode/ --no-isolate > $o/conf_$v.txt 2>&1; echo "conf $v: $(tail -1 $o/conf_$v.txt)"
done
timeout 120 compute-sanitizer --tool memcheck $B/conformance/elattn-conformance --backend cuda:0 --case decode/ --no-isolate > $o/memcheck_B.txt 2>&1; echo "memcheck B: $(grep -E 'ERROR SUMMARY' $o/memcheck_B.txt | tail -1) / $(grep -E 'passed' $o/memcheck_B.txt | tail -1)"
db="--device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch 1,16 --mix dense,fa-ssa:0.75 --max-time 0.5"
i=0; for v in A B A B; do i=$((i+1)); timeout 50 build-$v/bench/elattn-decode-bench $db > $o/$v$i.txt 2>&1; echo "== $v$i"; grep -A20 "^results" $o/$v$i.txt | tail -13 | cut -c1-70; done
t0=$SECONDS; LENS=8192,32768,131072 BATCHES=1 MIXES=dense D=128 DTYPE=bf16 BUDGET_S=60 timeout 70 python3 bench/decode_peers.py --out $o > $o/peers.log 2>&1; echo "peers $((SECONDS-t0)) s"; tail -8 $o/peers.log
# XAttention estimation at 32K, D128: every kernel's duration, then the scores kernel in detail
xa="$A/bench/lab/elattn-lab-xattn --device cuda:0 --dtype bf16 --head-dim 128 --hq 32 --hkv 8 --lq 32k --lk 32k --causal 1 --block 128 --stride 16 --tau 0.9 --check 0 --warmup 1 --iters 3"
timeout 30 $xa > $o/xa_time.txt 2>&1; cat $o/xa_time.txt | cut -c1-400
timeout 60 ncu --clock-control none --launch-skip 0 --launch-count 6 --section SpeedOfLight $xa --warmup 0 --iters 1 > $o/ncu_xa_all.txt 2>&1; grep -E "^  [a-z_].*\(|Duration" $o/ncu_xa_all.txt | head -24
timeout 90 ncu --clock-control none --kernel-name regex:xattn_scores --launch-count 1 --section SpeedOfLight --section MemoryWorkloadAnalysis --section ComputeWorkloadAnalysis --section WarpStateStats --section Occupancy --section SchedulerStats --metrics lts__t_bytes.sum.per_second,sm__pipe_tensor_op_gmma_cycles_active.avg.pct_of_peak_sustained_active,l1tex__t_bytes.sum.per_second $xa --warmup 0 --iters 1 > $o/ncu_xa_scores.txt 2>&1; grep -E "Duration|Throughput|Busy|gmma|lts__t|l1tex__t|Stall|Eligible|Issued Warp|Occupancy" $o/ncu_xa_scores.txt | head -40
# dense D128 wgmma at 32K: tensor pipe utilisation
at="$A/bench/lab/elattn-lab-attn --device cuda:0 --dtype bf16 --head-dim 128 --hq 32 --hkv 8 --lq 32k --lk 32k --causal 1 --mix dense --check 0"
timeout 30 $at --warmup 1 --iters 5 > $o/attn_time.txt 2>&1; cut -c1-400 $o/attn_time.txt
timeout 90 ncu --clock-control none --kernel-name regex:wgmma --launch-count 1 --section SpeedOfLight --section ComputeWorkloadAnalysis --section WarpStateStats --section SchedulerStats --metrics sm__pipe_tensor_op_gmma_cycles_active.avg.pct_of_peak_sustained_active,sm__inst_executed_pipe_tensor_op_gmma.sum,lts__t_bytes.sum.per_second,sm__cycles_elapsed.avg.per_second $at --warmup 0 --iters 1 > $o/ncu_dense.txt 2>&1; grep -E "Duration|Throughput|gmma|lts__t|cycles_elapsed|Eligible|Issued Warp|Stall" $o/ncu_dense.txt | head -30
nvidia-smi > $o/machine.txt 2>&1; git log -1 --format=%H > $o/commit.txt
cd $OUT && tar czf c1.tgz c1
