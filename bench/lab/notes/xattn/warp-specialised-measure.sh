#!/usr/bin/env bash
# The device call of an XAttention estimation patch against main: written for
# warp-specialised.patch (run for it as call 42, and for the other patches of this folder as
# calls 46 and 48), it measures whatever the working tree holds (B) against the tree carried as
# .base/ (A). Run from the repository root:
#   rm -rf .base && mkdir .base && git archive HEAD | tar xf - -C .base && rm -rf .base/bench/results
#   git apply bench/lab/notes/xattn/<patch>
# Writes $OUT/$NAME.tgz (NAME: default ws). First the correctness of B (XAttention conformance with
# each tensor-core family forced, wgmma and mma, each case failed as hung after 20 s; memcheck and
# racecheck on the quick set), then elattn-lab-xattn A B A B at 32K (D128, D64) and A B at 128K
# (D128), then elattn-bench's XA-est; with STRIDES=1 (twenty-eighth session) also A B at 32K D128
# for strides 8 and 32, which tells a tile's steps (a share of 1/S) from its per-tile work (1/S^2).
# BUDGET (default 560 s) caps the whole call: each step's timeout is at most what is left of it,
# so a call with little device time left keeps the checks and the first timings.
set -u
name=${NAME:-ws}
o=$OUT/$name; mkdir -p $o
left() { echo $((${BUDGET:-560} - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt 1 ] && l=1; [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1
cfg="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dlab=true"
(cd .base && meson setup ../build-A $cfg -Dtests=false >/dev/null && ninja -C ../build-A -j7) > $o/buildA.log 2>&1 &
(meson setup build-B $cfg -Dtests=true >/dev/null && ninja -C build-B -j9) > $o/buildB.log 2>&1
wait; echo "builds $SECONDS s: A $(tail -1 $o/buildA.log | cut -c1-30) / B $(tail -1 $o/buildB.log | cut -c1-30)"
C=build-B/conformance/elattn-conformance
timeout $(lim 100) $C --backend cuda:0 --case xattn/ --kernel cuda.xattn.wgmma --case-timeout 20 > $o/conf-B-xattn.txt 2>&1; echo "conf B xattn (wgmma): $(tail -1 $o/conf-B-xattn.txt)"
timeout $(lim 100) $C --backend cuda:0 --case xattn/ --kernel cuda.xattn.mma --case-timeout 20 > $o/conf-B-xattn-mma.txt 2>&1; echo "conf B xattn (mma): $(tail -1 $o/conf-B-xattn-mma.txt)"
grep -hE " FAIL | ERROR " $o/conf-B-xattn*.txt | head -6 | cut -c1-240
timeout $(lim 60) compute-sanitizer --tool memcheck $C --backend cuda:0 --case xattn/ --kernel cuda.xattn.wgmma --quick --no-isolate > $o/memcheck-B.txt 2>&1; echo "memcheck B: $(grep 'ERROR SUMMARY' $o/memcheck-B.txt | tail -1)"
timeout $(lim 60) compute-sanitizer --tool racecheck $C --backend cuda:0 --case xattn/ --kernel cuda.xattn.wgmma --quick --no-isolate > $o/racecheck-B.txt 2>&1; echo "racecheck B: $(grep -E 'RACECHECK SUMMARY' $o/racecheck-B.txt | tail -1)"
common="--device cuda:0 --dtype bf16 --causal 1 --block 128 --tau 0.9 --hq 32 --hkv 8"
f() { printf "%s D%s %s: " "$1" "$2" "$3"; timeout $(lim 40) build-$1/bench/lab/elattn-lab-xattn $common --stride ${st:-16} --head-dim $2 --lq $3 --lk $3 --check 1 --check-len 2048 --warmup 1 --iters $4 2>&1 | grep -oE "differ=[0-9]+|ms=[0-9.]+|ms_min=[0-9.]+|tflops=[0-9.]+" | tr '\n' ' '; echo; }
for D in 128 64; do for v in A B A B; do f $v $D 32k 5; done; done 2>&1 | tee $o/lab-32k.txt
for v in A B; do f $v 128 128k 3; done 2>&1 | tee $o/lab-128k.txt
if [ "${STRIDES:-0}" = 1 ]; then for st in 8 32; do for v in A B; do printf "stride %s " $st; f $v 128 32k 5; done; done 2>&1 | tee $o/lab-strides.txt; fi # a subshell: st stays unset here
for v in B A; do timeout $(lim 60) build-$v/bench/elattn-bench --set paper --device cuda:0 --dtype bf16 --head-dim 128 --lens 32768,131072 --mix dense,fa-xa:0.75 --no-check --no-router --no-serial --max-reps 3 --min-time 0 > $o/bench-$v.txt 2>&1
  echo "bench $v: $(grep -E '^bf16 ' $o/bench-$v.txt | awk '{print $3"/"$4"="$6" XA="$(NF-1)}' | tr '\n' ' ')"; done
nvidia-smi > $o/machine.txt 2>&1
cd $OUT && tar czf $name.tgz $name
