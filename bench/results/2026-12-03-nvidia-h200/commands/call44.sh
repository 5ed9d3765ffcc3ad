#!/usr/bin/env bash
# Call 44 (2026-12-03, sixth session): issue 11 goals 1 and 2 in one call -- dense attention, ours
# (the wgmma family) beside SDPA cuDNN and flash, causal and non-causal (elattn-bench --causal 0,
# new this session), D64 / D128 / D256, bf16 and fp16, 8K and 32K, two alternating rounds; D128
# causal at 128K; ncu's tensor-pipe utilisation of the dense D128 launch at 32K.
set -u
o=$OUT/c44; mkdir -p $o
left() { echo $((570 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git log --oneline -1 > $o/commit.txt 2>&1; git status --short >> $o/commit.txt 2>&1
(meson setup build -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=false -Dbench=true >/dev/null && ninja -C build -j16) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-40)"
B="build/bench/elattn-bench --set paper --device cuda:0 --kernel cuda.attn.wgmma --mix dense --no-check --no-router --no-serial --max-reps 5 --min-time 0.05"
ours() { timeout $(lim 60) $B "$@" > $o/ours-$tag.txt 2>&1; echo "ours $tag: $(grep -E '^(bf16|f16)' $o/ours-$tag.txt | awk '{print $1"/"$2"/"$3"="$6"("$10")"}' | tr '\n' ' ')"; }
sdpa() { timeout $(lim 70) env "$@" REPS=10 python3 bench/lab/notes/decode/sdpa_kernels.py dense > $o/sdpa-$tag.txt 2>&1; echo "sdpa $tag rc=$?:"; grep -E "^dense" $o/sdpa-$tag.txt | sed 's/ (median of 10)//' | tr '\n' ';'; echo; }
for r in 1 2; do
  tag=causal-$r ours --causal 1 --dtype bf16,f16 --head-dim 64,128,256 --lens 8192,32768
  tag=noncausal-$r ours --causal 0 --dtype bf16,f16 --head-dim 64,128 --lens 8192,32768
  for dt in bf16 f16; do
    tag=causal-$dt-$r sdpa DTYPE=$dt CAUSAL=1 DIMS=64,128,256 LENS=8192,32768
    tag=noncausal-$dt-$r sdpa DTYPE=$dt CAUSAL=0 DIMS=64,128 LENS=8192,32768
  done
done
tag=causal-128k ours --causal 1 --dtype bf16,f16 --head-dim 128 --lens 131072 --max-reps 3
for dt in bf16 f16; do tag=causal-128k-$dt sdpa DTYPE=$dt CAUSAL=1 DIMS=128 LENS=131072; done
timeout $(lim 60) ncu --clock-control none --kernel-name regex:^attn_kernel --launch-count 1 --metrics sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active,sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_elapsed,gpu__time_duration.sum,sm__cycles_elapsed.avg.per_second $B --dtype bf16 --head-dim 128 --lens 32768 --max-reps 1 --min-reps 1 --warmup 0 > $o/ncu-dense-d128-32k.txt 2>&1
echo "ncu: $(grep -E 'pct_of_peak|duration|per_second' $o/ncu-dense-d128-32k.txt | tr -s ' ' | tr '\n' ';')"
nvidia-smi > $o/machine.txt 2>&1
cd $OUT && tar czf c44.tgz c44
