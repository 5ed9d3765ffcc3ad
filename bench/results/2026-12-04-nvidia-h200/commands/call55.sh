#!/usr/bin/env bash
# Call 55 (2026-12-04, the session's last device seconds): the tree that lands (call 54's B less
# the item hand-over patch): decode conformance on cuda:0 (both families), racecheck on the whole
# decode group (call 54's was cut at its last case), then the decode grid with --flush read beside
# the torch peers (FLUSH=read), joined.
set -u
o=$OUT/c55; mkdir -p $o; f=$o/c55.txt
left() { echo $((300 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1; git log --oneline -1 >> $o/tree.txt
(meson setup build-B -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=true >/dev/null && ninja -C build-B -j16) > $o/buildB.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/buildB.log | cut -c1-30)" >> $f
C=build-B/conformance/elattn-conformance
timeout $(lim 40) $C --backend cuda:0 --case decode/ > $o/conf-decode.txt 2>&1; echo "conf decode: $(tail -1 $o/conf-decode.txt)" >> $f
timeout $(lim 40) $C --backend cuda:0 --case decode/ --kernel cuda.decode.split > $o/conf-decode-split.txt 2>&1; echo "conf decode split: $(tail -1 $o/conf-decode-split.txt)" >> $f
timeout $(lim 120) compute-sanitizer --tool racecheck $C --backend cuda:0 --case decode/ --no-isolate > $o/racecheck-decode.txt 2>&1
echo "racecheck decode: $(grep -E 'RACECHECK SUMMARY' $o/racecheck-decode.txt | tail -1) / $(tail -1 $o/racecheck-decode.txt | cut -c1-60)" >> $f
timeout $(lim 30) build-B/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch 1,16,64 --mix dense,fa-ssa:0.5,fa-ssa:0.75 --max-time 0.3 --flush read --json $o/decode_ours.json > $o/decode-ours.txt 2>&1
echo "ours grid: $(tail -1 $o/decode-ours.txt)" >> $f
LENS=8192,32768,131072 BATCHES=1,16,64 MIXES=dense,fa-ssa:0.5,fa-ssa:0.75 FLUSH=read BUDGET_S=$(( $(left) - 12 )) timeout $(lim 60) python3 bench/decode_peers.py --out $o > $o/peers.log 2>&1; echo "peers rc=$?: $(tail -1 $o/peers.log)" >> $f
python3 bench/join_decode.py --ours $o/decode_ours.json --peers $o/decode_peers.json --out $o/decode_table.md > /dev/null 2>$o/join.err; echo "join rc=$?" >> $f
nvidia-smi > $o/machine.txt 2>&1
cat $f; cd $OUT && tar czf c55.tgz c55
