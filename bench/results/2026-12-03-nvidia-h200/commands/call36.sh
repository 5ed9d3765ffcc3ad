#!/usr/bin/env bash
# Ran as call 36 (bench/results/2026-12-03-nvidia-h200/README.md). The patch it measured, once in
# bench/lab/notes/wgmma-scheduler/tile-records.patch, is on main since the commit after call 37.
# The device call for tile-records.patch with the fix of call 35's hang (the end-of-walk record
# carried an unset class; see NOTES.md). Run from the repository root with the patch applied (N,
# the working tree) and the tree without it carried as .base/ (A); writes $OUT/tr.tgz.
# First the repeat that hung 3 times in 6 before the fix (the attn/dtype/ group with
# cuda.attn.wgmma forced, 20 times, each case failed as hung after 10 s: --case-timeout), then
# every attention case with the family forced, memcheck and racecheck on the quick set, then
# A N A N (every block kept, the paper mixes).
set -u
o=$OUT/tr; mkdir -p $o
left() { echo $((565 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git log --oneline -1 > $o/commit.txt 2>&1; git status --short >> $o/commit.txt 2>&1
cfg="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true"
(cd .base && meson setup ../build-A $cfg -Dtests=false >/dev/null && ninja -C ../build-A -j7) > $o/buildA.log 2>&1 &
(meson setup build-N $cfg -Dtests=true >/dev/null && ninja -C build-N -j9) > $o/buildN.log 2>&1
wait; echo "builds $SECONDS s: A $(tail -1 $o/buildA.log | cut -c1-40) / N $(tail -1 $o/buildN.log | cut -c1-40)"
C=build-N/conformance/elattn-conformance
for i in $(seq 20); do
  timeout 120 $C --backend cuda:0 --kernel cuda.attn.wgmma --case attn/dtype/ --case-timeout 10 > $o/repeat$i.txt 2>&1
done; echo "attn/dtype/ x20 with wgmma forced: $(cat $o/repeat*.txt | grep -c 'hung: no result') hung cases"
timeout $(lim 150) $C --backend cuda:0 --kernel cuda.attn.wgmma --exclude xattn/ --exclude router/ --exclude decode --case-timeout 10 > $o/conf-wgmma.txt 2>&1; echo "conf wgmma: $(tail -1 $o/conf-wgmma.txt)"
timeout $(lim 90) compute-sanitizer --tool memcheck $C --backend cuda:0 --kernel cuda.attn.wgmma --quick --no-isolate > $o/memcheck.txt 2>&1; echo "memcheck: $(grep 'ERROR SUMMARY' $o/memcheck.txt | tail -1)"
timeout $(lim 90) compute-sanitizer --tool racecheck $C --backend cuda:0 --kernel cuda.attn.wgmma --quick --no-isolate > $o/racecheck.txt 2>&1; echo "racecheck: $(grep -E 'RACECHECK SUMMARY' $o/racecheck.txt | tail -1)"
args="--set paper --device cuda:0 --dtype bf16 --head-dim 64,128 --lens 8192,32768 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05"
i=0; for v in A N A N; do i=$((i+1))
  timeout $(lim 60) build-$v/bench/elattn-bench $args --mix dense,fa-xa:1 --tau 1.0 > $o/full-$v$i.txt 2>&1
  timeout $(lim 60) build-$v/bench/elattn-bench $args --mix dense,fa-ssa:0.75,fa-ssa:0.5,fa-xa:0.75 > $o/mix-$v$i.txt 2>&1
  echo "== $v$i: $(cat $o/full-$v$i.txt $o/mix-$v$i.txt | grep -E '^bf16 ' | awk '{print $2"/"$3"/"$4"="$6}' | tr '\n' ' ')"
done
nvidia-smi > $o/machine.txt 2>&1
cd $OUT && tar czf tr.tgz tr
