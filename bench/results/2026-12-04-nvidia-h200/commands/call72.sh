#!/usr/bin/env bash
# Call 72 (2026-12-04, third session): the work list's ties in (b, qtile, head) order instead of (b, head, qtile)
# (N = the working tree) against A = cccb491 (.base/), one process per run, 2 s idle before each, A N A N:
# D128 bf16 dense / fa-ssa:1 / fa-ssa:0.75 / fa-ssa:0.5 at 32K, fa-ssa:1 and fa-ssa:0.75 at 128K.
set -u
o=$OUT/c72; mkdir -p $o; f=$o/c72.txt
git status --short > $o/tree.txt
cfg="-Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false"
(cd .base && meson setup ../build-A $cfg >/dev/null && ninja -C ../build-A -j8) > $o/buildA.log 2>&1 &
(meson setup build-N $cfg >/dev/null && ninja -C build-N -j8) > $o/buildN.log 2>&1
wait; echo "builds $SECONDS s: A $(tail -1 $o/buildA.log | cut -c1-30) / N $(tail -1 $o/buildN.log | cut -c1-30)" >> $f
run() { # run BUILD LENS MIXES
  sleep 2
  timeout 80 build-$1/bench/elattn-bench --set paper --device cuda:0 --dtype bf16 --head-dim 128 --lens $2 \
    --mix $3 --no-check --no-router --no-serial --min-reps 5 --max-reps 5 --min-time 0 > $o/run.txt 2>&1
  grep -E '^bf16 ' $o/run.txt | awk -v t="$1" '{print t, $3, $4, $6, $7, $8, $9, $10}' >> $f
}
for r in 1 2; do for b in A N; do run $b 32768 fa-ssa:1,fa-ssa:0.75,fa-ssa:0.5; done; done

for b in A N; do run $b 131072 fa-ssa:1,fa-ssa:0.75; done
cat $f; cd $OUT && tar czf c72.tgz c72
