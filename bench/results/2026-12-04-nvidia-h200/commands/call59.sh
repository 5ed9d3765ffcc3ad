#!/usr/bin/env bash
# Call 59 (2026-12-04, second session): issue 14, the tree that lands (N: the narrowed merge grid and
# the STREAMING shortcut; threshold 32, MERGE_BATCH 8) against main (A, .base/).
#   1. --batch 1 steps (--flush read), 8K / 32K / 128K, one process per run: A N A N A N A N, with
#      the SM/memory clocks and the host's load after each (calls 57-58 saw whole runs 8-14 us slower
#      per step at batch 1, in every build and in the peers);
#   2. --batch 16,64: A N A N;
#   3. N's decode grid (batch 1/16/64) beside the torch peers (FLUSH=read), joined.
set -u
o=$OUT/c59; mkdir -p $o; f=$o/c59.txt
left() { echo $((575 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1; git log --oneline -3 >> $o/tree.txt
cfg="-Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false"
(cd .base && meson setup build-A $cfg >/dev/null && ninja -C build-A -j6) > $o/buildA.log 2>&1 &
(meson setup build-N $cfg >/dev/null && ninja -C build-N -j10) > $o/buildN.log 2>&1
wait; echo "builds $SECONDS s: A $(tail -1 $o/buildA.log | cut -c1-30) / N $(tail -1 $o/buildN.log | cut -c1-30)" >> $f
bin() { [ $1 = A ] && echo .base/build-A/bench/elattn-decode-bench || echo build-N/bench/elattn-decode-bench; }
d() { local n=dec-$1-b$2-$3
  timeout $(lim 40) $(bin $1) --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch $2 --mix dense,fa-ssa:0.5,fa-ssa:0.75 --max-time 0.3 --flush read > $o/$n.txt 2>&1
  echo "$n: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"Kx"$2" "$3"="$4}' | tr '\n' ' ')| $(nvidia-smi --query-gpu=clocks.sm,clocks.mem,power.draw --format=csv,noheader) | load $(cut -d' ' -f1-3 /proc/loadavg)" >> $f; }
for r in 1 2 3 4; do d A 1 $r; d N 1 $r; done
for r in 1 2; do d A 16,64 $r; d N 16,64 $r; done
timeout $(lim 40) build-N/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch 1,16,64 --mix dense,fa-ssa:0.5,fa-ssa:0.75 --max-time 0.3 --flush read --json $o/decode_ours.json > $o/decode-ours.txt 2>&1
echo "ours grid: $(tail -1 $o/decode-ours.txt)" >> $f
LENS=8192,32768,131072 BATCHES=1,16,64 MIXES=dense,fa-ssa:0.5,fa-ssa:0.75 FLUSH=read BUDGET_S=$(( $(left) - 15 )) timeout $(lim 200) python3 bench/decode_peers.py --out $o > $o/peers.log 2>&1; echo "peers rc=$?: $(tail -1 $o/peers.log)" >> $f
python3 bench/join_decode.py --ours $o/decode_ours.json --peers $o/decode_peers.json --out $o/decode_table.md > /dev/null 2>$o/join.err; echo "join rc=$?" >> $f
nvidia-smi > $o/machine.txt 2>&1; nproc >> $o/machine.txt; uptime >> $o/machine.txt
cat $f; grep -E "^\| (8192|32768|131072) \| " $o/decode_table.md; cd $OUT && tar czf c59.tgz c59
