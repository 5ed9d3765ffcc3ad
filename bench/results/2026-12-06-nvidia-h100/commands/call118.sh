#!/usr/bin/env bash
# Call 118 (2026-12-06, fifteenth session, H100, warm; written as call115.sh), run from the repository root with `run`; the tree: 895819a.
# Issue 14's decode table from main as it stands, in one call: bench/decode_sweep.sh (ours: the
# grid 8K / 32K / 128K x batch 1 / 16 / 64, dense and fa-ssa:0.5 / 0.75, bf16 D 128; the torch
# peers on the same cache contents; joined), both with the read flush (clean L2) and the lead; then
# batch 1 again in three more processes of ours and one of the peers (dense and fa-ssa:0.75), the
# rows the goals name (dense batch 1 against the best SDPA; fa-ssa:0.75 at 128K x 1 against dense).
set -u
o=$OUT/dec; mkdir -p $o; f=$o/dec.txt
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader >> $f 2>&1
FLUSH=read OURS_ARGS="--flush read --max-time 0.3" TOTAL_BUDGET_S=300 BUILD_DIR=build-dec bash bench/decode_sweep.sh $o > $o/sweep.log 2>&1
echo "sweep rc=$? at $SECONDS s" >> $f
grep -E "^\| (8192|32768|131072) \| " $o/decode_table.md >> $f 2>&1
B=build-dec/bench/elattn-decode-bench
for r in 1 2 3; do
  timeout 40 $B --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch 1 --mix dense,fa-ssa:0.75 \
    --max-time 0.3 --flush read > $o/b1-$r.txt 2>&1
  echo "ours b1 run $r rc=$?: $(sed -n '/^results/,$p' $o/b1-$r.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"Kx"$2" "$3"="$4}' | tr '\n' ' ')" >> $f
done
mkdir -p $o/p1
LENS=8192,32768,131072 BATCHES=1 MIXES=dense,fa-ssa:0.75 FLUSH=read BUDGET_S=80 timeout 100 python3 bench/decode_peers.py --out $o/p1 > $o/p1/peers.log 2>&1
echo "peers b1 rc=$?" >> $f; grep -E "^ *(8192|32768|131072)" $o/p1/peers.log | head -20 >> $f
echo "end $SECONDS s" >> $f
cat $f
