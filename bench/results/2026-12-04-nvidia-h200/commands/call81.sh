#!/usr/bin/env bash
# Call 81 (2026-12-04, fifth session): call 80 again with the decode bench's lead (an untimed
# attention of 8192 tokens queued after the L2 flush, so that the step's own host work is not
# timed: call 80 had every batch-1 step of every build 8-11 us slow). Every tree has the same
# bench/decode_bench.c (53ba434); A = b495f03's kernels (.base/), N1 = 2ede791's (.n1/), N2 = the
# working tree (7be3d50's kernels).
#   1. --batch 1, A without the lead once (--lead-tokens 0), then A N1 N2 with it, three rounds;
#   2. --batch 16,64: A N1 N2, one round;
#   3. decode_peers.py at batch 1 with its lead (LEAD_CYCLES), FLUSH=read.
set -u
o=$OUT/c81; mkdir -p $o; f=$o/c81.txt
left() { echo $((580 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1; git log --oneline -1 >> $o/tree.txt
cfg="-Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false"
t="bench/elattn-decode-bench elattn-libs"
(cd .base && meson setup build-A $cfg >/dev/null && ninja -C build-A -j5 $t) > $o/buildA.log 2>&1 &
(cd .n1 && meson setup build-N1 $cfg >/dev/null && ninja -C build-N1 -j5 $t) > $o/buildN1.log 2>&1 &
(meson setup build-N2 $cfg >/dev/null && ninja -C build-N2 -j6 $t) > $o/buildN2.log 2>&1
wait; echo "builds $SECONDS s: A $(tail -1 $o/buildA.log | cut -c1-40) / N1 $(tail -1 $o/buildN1.log | cut -c1-40) / N2 $(tail -1 $o/buildN2.log | cut -c1-40)" >> $f
bin() { case $1 in A) echo .base/build-A/bench/elattn-decode-bench;; N1) echo .n1/build-N1/bench/elattn-decode-bench;; *) echo build-N2/bench/elattn-decode-bench;; esac; }
d() { local n=dec-$1-b$2-$3; local b=$1 bt=$2; shift 3
  timeout $(lim 45) $(bin $b) --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch $bt --mix dense,fa-ssa:0.5,fa-ssa:0.75 --max-time 0.3 --flush read --json $o/$n.json "$@" > $o/$n.txt 2>&1
  echo "$n: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"Kx"$2" "$3"="$4}' | tr '\n' ' ')| $(nvidia-smi --query-gpu=clocks.sm,clocks.mem --format=csv,noheader)" >> $f; }
d A 1 nolead --lead-tokens 0
for r in 1 2 3; do d A 1 $r; d N1 1 $r; d N2 1 $r; done
d A 16,64 1; d N1 16,64 1; d N2 16,64 1
LENS=8192,32768,131072 BATCHES=1 FLUSH=read BUDGET_S=70 timeout $(lim 100) python3 bench/decode_peers.py --out $o/peers > $o/peers.txt 2>&1
echo "peers rc=$?:" >> $f; grep -E "^ +[0-9]+ +1 " $o/peers.txt | grep -E "sdpa-cudnn|sdpa-flash|serial" | cut -c1-110 >> $f
nvidia-smi > $o/machine.txt 2>&1
cat $f; cd $OUT && tar czf c81.tgz c81
