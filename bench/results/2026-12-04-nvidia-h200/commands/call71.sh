#!/usr/bin/env bash
# Call 71 (2026-12-04, third session): where the D128 32K hybrid's excess over its ideal comes from.
# (a) the FULL part alone (dense with 8 query / 2 KV heads) and the STREAMING part alone (fa-ssa:1 with 24 / 6)
#     beside the whole mixes; (b) bench/lab/notes/wgmma-scheduler/worklist-interleave.patch: the same binary
#     with ELATTN_LAB_WORKLIST_INTERLEAVE=1 (STREAMING items spread through the work list) against without.
# One process per run, 2 s idle before each.
set -u
o=$OUT/c71; mkdir -p $o; f=$o/c71.txt
git log --oneline -1 > $o/tree.txt; git status --short >> $o/tree.txt
(meson setup build-N -Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false >/dev/null && ninja -C build-N -j16) > $o/buildN.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/buildN.log | cut -c1-40)" >> $f
run() { # run TAG ENV LENS HEADS MIX
  sleep 2
  env $2 timeout 90 build-N/bench/elattn-bench --set paper --device cuda:0 --dtype bf16 --head-dim 128 --lens $3 --heads $4 \
    --mix $5 --no-check --no-router --no-serial --min-reps 5 --max-reps 5 --min-time 0 > $o/run.txt 2>&1
  grep -E '^bf16 ' $o/run.txt | awk -v t="$1" -v h="$4" '{print t, h, $3, $4, $6, $7, $8, $9, $10}' >> $f
}
for round in 1 2; do
  run "r$round" X=0 32768 32:8 dense
  run "r$round" X=0 32768 8:2 dense
  run "r$round" X=0 32768 24:6 fa-ssa:1
  run "r$round" X=0 32768 32:8 fa-ssa:1
  run "r$round-A" X=0 32768 32:8 fa-ssa:0.75,fa-ssa:0.5
  run "r$round-B" ELATTN_LAB_WORKLIST_INTERLEAVE=1 32768 32:8 fa-ssa:0.75,fa-ssa:0.5
done
run "8k-A" X=0 8192 32:8 fa-ssa:0.75,fa-ssa:0.5
run "8k-B" ELATTN_LAB_WORKLIST_INTERLEAVE=1 8192 32:8 fa-ssa:0.75,fa-ssa:0.5
run "128k-A" X=0 131072 32:8 fa-ssa:0.75
run "128k-B" ELATTN_LAB_WORKLIST_INTERLEAVE=1 131072 32:8 fa-ssa:0.75
cat $f; cd $OUT && tar czf c71.tgz c71
