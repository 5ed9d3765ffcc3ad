#!/usr/bin/env bash
# A device call for issue 14's batch-1 goal (written 2026-12-04; run as call 56, with the narrowed merge
# grid, bench/results/2026-12-04-nvidia-h200/commands/call56.sh): where the merge
# launch's time goes, and its threshold. Run from the repository root of a tree with
# bench/lab/notes/decode/merge-threshold-env.patch and timeline-probe-merge-launch.patch applied:
#   git apply bench/lab/notes/decode/merge-threshold-env.patch
#   git apply bench/lab/notes/decode/timeline-probe-merge-launch.patch
# Builds B (the tree) and T (the same with -DELATTN_DECODE_TIMELINE) side by side; writes
# $OUT/$NAME.tgz (NAME: default mlaunch).
#   1. decode conformance on B (the defaults are main's: threshold 32, PDL on);
#   2. steps (--flush read) at 8K / 32K / 128K x 1 for dense, fa-ssa:0.5, fa-ssa:0.75 with the
#      threshold at 32, 64, 128 and 256 (256: never a merge launch), and 32 without PDL, each
#      setting twice in alternating order;
#   3. T's timeline of 128K x 1 fa-ssa:0.75 and 32K x 1 fa-ssa:0.5, with the TMK lines of the
#      merge blocks (start, end of the PDL wait, end) against the chunk blocks' ends.
set -u
name=${NAME:-mlaunch}
o=$OUT/$name; mkdir -p $o; f=$o/$name.txt
left() { echo $((570 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1
cfg="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true"
(meson setup build-T $cfg -Dtests=false -Dcuda_args=-DELATTN_DECODE_TIMELINE >/dev/null && ninja -C build-T -j6) > $o/buildT.log 2>&1 &
(meson setup build-B $cfg -Dtests=true >/dev/null && ninja -C build-B -j10) > $o/buildB.log 2>&1
wait; echo "builds $SECONDS s: B $(tail -1 $o/buildB.log | cut -c1-30) / T $(tail -1 $o/buildT.log | cut -c1-30)" >> $f
timeout $(lim 40) build-B/conformance/elattn-conformance --backend cuda:0 --case decode/ > $o/conf.txt 2>&1; echo "conf decode: $(tail -1 $o/conf.txt)" >> $f
s() { local n=step-$1-pdl$2-$3
  ELATTN_LAB_DECODE_MERGE_MAX=$1 ELATTN_LAB_DECODE_MERGE_PDL=$2 timeout $(lim 40) build-B/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch 1 --mix dense,fa-ssa:0.5,fa-ssa:0.75 --max-time 0.3 --flush read > $o/$n.txt 2>&1
  echo "$n: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"K "$3"="$4}' | tr '\n' ' ')" >> $f; }
for r in 1 2; do for m in 32 64 128 256; do s $m 1 $r; done; s 32 0 $r; done
t() { local n=tl-$1-${2/:/}
  ELATTN_LAB_TIMELINE=1 timeout $(lim 30) build-T/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens $1 --batch 1 --mix $2 --flush read --warmup 1 --min-reps 3 --max-reps 3 --min-time 0 > $o/$n.txt 2>&1
  python3 bench/lab/notes/decode/timeline.py $o/$n.txt > $o/$n.sum 2>&1; cat $o/$n.sum >> $f; }
t 131072 fa-ssa:0.75; t 32768 fa-ssa:0.5
nvidia-smi > $o/machine.txt 2>&1
cat $f; cd $OUT && tar czf $name.tgz $name
