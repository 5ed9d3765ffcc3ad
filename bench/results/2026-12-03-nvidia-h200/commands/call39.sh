#!/usr/bin/env bash
# Call 39: the wgmma producer judging 32 key tiles at a time (a lane each, two ballots) instead
# of walking them one by one (call 38: at D64 it was the critical path). A = 5dbc7d7 (.base/),
# P = the tree. P: the attn/dtype/ group 5 times with --case-timeout 10, the wgmma-forced
# conformance, memcheck, racecheck; then A P A P on D64/D128 dense / every block kept / mixes.
set -u
o=$OUT/c39; mkdir -p $o
left() { echo $((560 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1
cfg="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true"
(cd .base && meson setup ../build-A $cfg -Dtests=false >/dev/null && ninja -C ../build-A -j7) > $o/buildA.log 2>&1 &
(meson setup build-P $cfg -Dtests=true >/dev/null && ninja -C build-P -j9) > $o/buildP.log 2>&1
wait; echo "builds $SECONDS s: A $(tail -1 $o/buildA.log | cut -c1-30) / P $(tail -1 $o/buildP.log | cut -c1-30)"
C=build-P/conformance/elattn-conformance
for i in 1 2 3 4 5; do timeout 60 $C --backend cuda:0 --kernel cuda.attn.wgmma --case attn/dtype/ --case-timeout 10 > $o/repeat$i.txt 2>&1; done
echo "attn/dtype/ x5: $(cat $o/repeat*.txt | grep -c 'hung') hung, $(cat $o/repeat*.txt | grep 'conformance:' | sort | uniq -c | tr -s ' ')"
timeout $(lim 120) $C --backend cuda:0 --kernel cuda.attn.wgmma --exclude xattn/ --exclude router/ --exclude decode --case-timeout 10 > $o/conf-P.txt 2>&1; echo "conf P (wgmma): $(tail -1 $o/conf-P.txt)"
timeout $(lim 70) compute-sanitizer --tool memcheck $C --backend cuda:0 --kernel cuda.attn.wgmma --quick --no-isolate > $o/memcheck-P.txt 2>&1; echo "memcheck P: $(grep 'ERROR SUMMARY' $o/memcheck-P.txt | tail -1)"
timeout $(lim 70) compute-sanitizer --tool racecheck $C --backend cuda:0 --kernel cuda.attn.wgmma --quick --no-isolate > $o/racecheck-P.txt 2>&1; echo "racecheck P: $(grep -E 'RACECHECK SUMMARY' $o/racecheck-P.txt | tail -1)"
args="--set paper --device cuda:0 --dtype bf16 --lens 8192,32768 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05 --head-dim 64,128"
i=0; for v in A P A P; do i=$((i+1))
  timeout $(lim 40) build-$v/bench/elattn-bench $args --mix dense,fa-xa:1 --tau 1.0 > $o/full-$v$i.txt 2>&1
  timeout $(lim 40) build-$v/bench/elattn-bench $args --mix dense,fa-xa:0.75,fa-ssa:0.75 > $o/mix-$v$i.txt 2>&1
  echo "== $v$i: $(cat $o/full-$v$i.txt $o/mix-$v$i.txt | grep -E '^bf16 ' | awk '{print $2"/"$3"/"$4"="$6}' | tr '\n' ' ')"
done
nvidia-smi > $o/machine.txt 2>&1
cd $OUT && tar czf c39.tgz c39
