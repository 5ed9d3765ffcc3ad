#!/usr/bin/env bash
# Call 85 (2026-12-04, fifth session): issue 14's decode table on the tree that lands (d41925e's
# kernels: the merge launch's blocks wait on the arrival count; the decode bench's lead) beside the
# torch peers (decode_peers.py with its lead, FLUSH=read), one process each, joined.
set -u
o=$OUT/c85; mkdir -p $o; f=$o/c85.txt
left() { echo $((570 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1; git log --oneline -3 >> $o/tree.txt
(meson setup build -Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false >/dev/null && ninja -C build -j16 bench/elattn-decode-bench elattn-libs) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-40)" >> $f
timeout $(lim 60) build/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch 1,16,64 --mix dense,fa-ssa:0.5,fa-ssa:0.75 --max-time 0.3 --flush read --json $o/decode_ours.json > $o/decode-ours.txt 2>&1
echo "ours grid: $(tail -1 $o/decode-ours.txt)" >> $f
LENS=8192,32768,131072 BATCHES=1,16,64 MIXES=dense,fa-ssa:0.5,fa-ssa:0.75 FLUSH=read BUDGET_S=$(( $(left) - 20 )) timeout $(lim 400) python3 bench/decode_peers.py --out $o > $o/peers.log 2>&1; echo "peers rc=$?: $(tail -1 $o/peers.log)" >> $f
python3 bench/join_decode.py --ours $o/decode_ours.json --peers $o/decode_peers.json --out $o/decode_table.md > /dev/null 2>$o/join.err; echo "join rc=$?" >> $f
nvidia-smi > $o/machine.txt 2>&1; nproc >> $o/machine.txt; uptime >> $o/machine.txt
cat $f; grep -E "^\| (8192|32768|131072) \| " $o/decode_table.md; cd $OUT && tar czf c85.tgz c85
