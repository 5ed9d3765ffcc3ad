#!/usr/bin/env bash
# Call 43 (2026-12-03, sixth session): issue 11 goal 2 -- wider key tiles for the wgmma family at
# head dims 192 (96 -> 112 keys) and 256 (64 -> 80 keys), as FlashAttention-3 uses, to close bf16
# D256's 4% gap to cuDNN at 32K. A: HEAD, carried as .base/; B: the working tree. Then ncu's memory
# sections of the XAttention estimation kernel (A, D128 32K) for goal 4's notes.
#   rm -rf .base && mkdir .base && git archive HEAD | tar xf - -C .base && rm -rf .base/bench/results
set -u
o=$OUT/c43; mkdir -p $o
left() { echo $((565 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1; git diff > $o/working-tree.diff 2>&1
cfg="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true"
(cd .base && meson setup ../build-A $cfg -Dtests=false -Dlab=true >/dev/null && ninja -C ../build-A -j7) > $o/buildA.log 2>&1 &
(meson setup build-B $cfg -Dtests=true >/dev/null && ninja -C build-B -j9) > $o/buildB.log 2>&1
wait; echo "builds $SECONDS s: A $(tail -1 $o/buildA.log | cut -c1-30) / B $(tail -1 $o/buildB.log | cut -c1-30)"
C=build-B/conformance/elattn-conformance
timeout $(lim 110) $C --backend cuda:0 --case attn/ --kernel cuda.attn.wgmma --case-timeout 20 > $o/conf-B-wgmma.txt 2>&1; echo "conf B attn/ (wgmma forced): $(tail -1 $o/conf-B-wgmma.txt)"
grep -E "FAIL|hung" $o/conf-B-wgmma.txt | head -5
timeout $(lim 60) compute-sanitizer --tool memcheck $C --backend cuda:0 --case d256 --kernel cuda.attn.wgmma --quick --no-isolate > $o/memcheck-B.txt 2>&1; echo "memcheck B (d256 quick): $(grep 'ERROR SUMMARY' $o/memcheck-B.txt | tail -1)"
b() { timeout $(lim 70) build-$1/bench/elattn-bench --set paper --device cuda:0 --dtype bf16,f16 --head-dim 192,256 --lens 8192,32768 --mix dense,fa-ssa:0.75,fa-xa:0.75 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05 > $o/bench-$1$2.txt 2>&1
  echo "$1$2: $(grep -E '^(bf16|f16)' $o/bench-$1$2.txt | awk '{print $1"/"$2"/"$3"/"$4"="$6}' | tr '\n' ' ')"; }
b A 1; b B 1; b A 2; b B 2
for dt in bf16 f16; do
  timeout $(lim 70) env DTYPE=$dt DIMS=192,256 LENS=8192,32768 REPS=10 python3 bench/lab/notes/decode/sdpa_kernels.py dense > $o/sdpa-dense-$dt.txt 2>&1
  echo "sdpa $dt rc=$? at $SECONDS s:"; grep -E "^dense" $o/sdpa-dense-$dt.txt | cut -c1-110
done
timeout $(lim 60) ncu --kernel-name regex:xattn_scores_kernel --launch-count 1 --section SpeedOfLight --section MemoryWorkloadAnalysis --section MemoryWorkloadAnalysis_Tables build-A/bench/lab/elattn-lab-xattn --device cuda:0 --dtype bf16 --causal 1 --block 128 --tau 0.9 --stride 16 --hq 32 --hkv 8 --head-dim 128 --lq 32k --lk 32k --check 0 --warmup 0 --iters 1 > $o/ncu-xa-memory.txt 2>&1
echo "ncu xa: $(grep -E 'Duration|L2 Cache Throughput|L1/TEX Cache Throughput|DRAM Throughput|Shared' $o/ncu-xa-memory.txt | tr -s ' ' | head -12 | tr '\n' ';')"
nvidia-smi > $o/machine.txt 2>&1
cd $OUT && tar czf c43.tgz c43
