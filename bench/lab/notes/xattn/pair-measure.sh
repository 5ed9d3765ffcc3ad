#!/usr/bin/env bash
# One device call (thirtieth session): XAttention's estimation with a cluster of two CTAs per item
# (B, the working tree) against main (A, carried as .base/), both with the lab-only grid cap
# ELATTN_LAB_XATTN_CTAS (bench/lab/notes/xattn/ctas-cap-env.patch, applied to A here). Prepare:
#   rm -rf .base && mkdir .base && git archive HEAD | tar xf - -C .base && rm -rf .base/bench/results
# From the repository root with `run`; any Hopper GPU. Output: $OUT/pair.txt, $OUT/pair.tgz.
# Order: B's correctness (conformance xattn/ with each tensor-core family forced, memcheck and
# racecheck on the quick set, the lab's mask check), then elattn-lab-xattn A B A B at 32K (D128,
# D64) and A B at 128K; then the question behind B: is the estimation slowed by L2 holding too few
# items' Q? A with its grid capped at 66 and 100 CTAs of 132 (fewer items' Q in L2 at once): if
# the time grows by less than the CTAs shrink, the CTAs ran faster with fewer items in L2; then
# ncu's memory figures for A and B (L2 hit rate, DRAM bytes); then elattn-bench's selection share.
# BUDGET (default 570 s) caps the whole call.
set -u
o=$OUT/pair; mkdir -p $o
left() { echo $((${BUDGET:-570} - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt 1 ] && l=1; [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
say() { echo "$*" | tee -a $o/summary.txt; }
nvidia-smi --query-gpu=name,clocks.max.sm,power.limit --format=csv,noheader > $o/machine.txt 2>&1
git log -1 --format=%H > $o/tree.txt; git status --short >> $o/tree.txt
patch -p1 -d .base < bench/lab/notes/xattn/ctas-cap-env.patch > $o/patchA.log 2>&1 || { say "A patch failed"; cat $o/patchA.log; }
cfg="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dlab=true"
(cd .base && meson setup ../build-A $cfg -Dtests=false >/dev/null && ninja -C ../build-A -j7) > $o/buildA.log 2>&1 &
(meson setup build-B $cfg -Dtests=true >/dev/null && ninja -C build-B -j9) > $o/buildB.log 2>&1
wait; say "$(cat $o/machine.txt); builds $SECONDS s: A $(tail -1 $o/buildA.log | cut -c1-40) / B $(tail -1 $o/buildB.log | cut -c1-40)"
C=build-B/conformance/elattn-conformance
timeout $(lim 90) $C --backend cuda:0 --case xattn/ --kernel cuda.xattn.wgmma --case-timeout 20 > $o/conf-wgmma.txt 2>&1; say "conf B xattn wgmma: $(tail -1 $o/conf-wgmma.txt)"
timeout $(lim 90) $C --backend cuda:0 --case xattn/ --kernel cuda.xattn.mma --case-timeout 20 > $o/conf-mma.txt 2>&1; say "conf B xattn mma: $(tail -1 $o/conf-mma.txt)"
grep -hE " FAIL | ERROR " $o/conf-*.txt | head -6 | cut -c1-240 | tee -a $o/summary.txt
timeout $(lim 60) compute-sanitizer --tool memcheck $C --backend cuda:0 --case xattn/ --kernel cuda.xattn.wgmma --quick --no-isolate > $o/memcheck.txt 2>&1; say "memcheck B: $(grep 'ERROR SUMMARY' $o/memcheck.txt | tail -1)"
timeout $(lim 60) compute-sanitizer --tool racecheck $C --backend cuda:0 --case xattn/ --kernel cuda.xattn.wgmma --quick --no-isolate > $o/racecheck.txt 2>&1; say "racecheck B: $(grep -E 'RACECHECK SUMMARY' $o/racecheck.txt | tail -1)"
common="--device cuda:0 --dtype bf16 --causal 1 --block 128 --tau 0.9 --hq 32 --hkv 8"
f() { printf "%s D%s %s %s: " "$1" "$2" "$3" "${ELATTN_LAB_XATTN_CTAS:-all}"; timeout $(lim 40) build-$1/bench/lab/elattn-lab-xattn $common --stride ${st:-16} --head-dim $2 --lq $3 --lk $3 --check 1 --check-len 2048 --warmup 1 --iters $4 2>&1 | grep -oE "status=[a-z]+|differ=[0-9]+|ms=[0-9.]+|ms_min=[0-9.]+|tflops=[0-9.]+" | tr '\n' ' '; echo; }
for D in 128 64; do for v in A B A B; do f $v $D 32k 5; done; done 2>&1 | tee $o/lab-32k.txt | tee -a $o/summary.txt
for v in A B; do f $v 128 128k 3; done 2>&1 | tee $o/lab-128k.txt | tee -a $o/summary.txt
for n in 66 100; do ELATTN_LAB_XATTN_CTAS=$n f A 128 32k 5; done 2>&1 | tee $o/lab-cap.txt | tee -a $o/summary.txt
ELATTN_LAB_XATTN_CTAS=66 f B 128 32k 5 2>&1 | tee -a $o/lab-cap.txt | tee -a $o/summary.txt
for v in A B; do [ "$(left)" -gt 90 ] || break
  timeout $(lim 60) ncu --kernel-name regex:xattn_scores_kernel --launch-count 1 --section SpeedOfLight --section MemoryWorkloadAnalysis \
    build-$v/bench/lab/elattn-lab-xattn $common --stride 16 --head-dim 128 --lq 32k --lk 32k --check 0 --warmup 0 --iters 1 > $o/ncu-$v.txt 2>&1
  say "ncu $v: $(grep -E 'Duration|L2 Hit Rate|DRAM Throughput|L2 Cache Throughput|Memory Throughput' $o/ncu-$v.txt | tr -s ' ' | tr '\n' ';')"; done
for v in B A; do [ "$(left)" -gt 30 ] || break
  timeout $(lim 60) build-$v/bench/elattn-bench --set paper --device cuda:0 --dtype bf16 --head-dim 128 --lens 32768,131072 --mix dense,fa-xa:0.75 --no-check --no-router --no-serial --max-reps 3 --min-time 0 > $o/bench-$v.txt 2>&1
  say "bench $v: $(grep -E '^bf16 ' $o/bench-$v.txt | awk '{print $3"/"$4"="$6" XA="$(NF-1)}' | tr '\n' ' ')"; done
say "end $SECONDS s"
cp $o/summary.txt $OUT/pair.txt; cd $OUT && tar czf pair.tgz pair
