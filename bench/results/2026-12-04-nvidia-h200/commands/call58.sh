#!/usr/bin/env bash
# Call 58 (2026-12-04, second session): issue 14, batch-1 A/B without large caches in the process
# (call 57's runs with --batch 1,16 inflated the batch-1 steps of every build, as calls 54-55's grids).
# A: main (.base/); N: the working tree (the narrowed merge grid and the STREAMING shortcut) with
# merge-threshold-env.patch; M: N + merge-batch-16.patch (the merge launch loads 16 chunks per
# round: one round for up to 128 chunks at 8 threads per element).
#   1. M's decode conformance on cuda:0 (both families);
#   2. --batch 1 steps (--flush read), 8K / 32K / 128K: A, N (threshold 32), N (64), M (32), M (64),
#      three rounds; then --batch 16,64: A, N, M, two rounds;
#   3. N's decode grid (batch 1/16/64) beside the torch peers (FLUSH=read), joined.
set -u
o=$OUT/c58; mkdir -p $o; f=$o/c58.txt
left() { echo $((575 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git apply bench/lab/notes/decode/merge-threshold-env.patch >> $f 2>&1
git status --short > $o/tree.txt 2>&1; git log --oneline -1 >> $o/tree.txt
mkdir -p ../msrc && tar cf - --exclude=./.git --exclude=./.base --exclude=./shared . | tar xf - -C ../msrc && (cd ../msrc && patch -p1 -s < bench/lab/notes/decode/merge-batch-16.patch) >> $f 2>&1
cfg="-Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=true"
(cd .base && meson setup ../build-A $cfg -Dtests=false >/dev/null && ninja -C ../build-A -j4) > $o/buildA.log 2>&1 &
(cd ../msrc && meson setup ../build-M $cfg -Dtests=true >/dev/null && ninja -C ../build-M -j6) > $o/buildM.log 2>&1 &
(meson setup ../build-N $cfg -Dtests=false >/dev/null && ninja -C ../build-N -j6) > $o/buildN.log 2>&1
wait; echo "builds $SECONDS s: A $(tail -1 $o/buildA.log | cut -c1-30) / N $(tail -1 $o/buildN.log | cut -c1-30) / M $(tail -1 $o/buildM.log | cut -c1-30)" >> $f
C=../build-M/conformance/elattn-conformance
timeout $(lim 60) $C --backend cuda:0 --case decode/ > $o/conf-M.txt 2>&1; echo "conf M decode: $(tail -1 $o/conf-M.txt)" >> $f
d() { local n=dec-$1-$2-$3-$4
  ELATTN_LAB_DECODE_MERGE_MAX=$2 timeout $(lim 40) ../build-$1/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch $3 --mix dense,fa-ssa:0.5,fa-ssa:0.75 --max-time 0.3 --flush read > $o/$n.txt 2>&1
  echo "$n: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"Kx"$2" "$3"="$4}' | tr '\n' ' ')" >> $f; }
for r in 1 2 3; do d A 32 1 $r; d N 32 1 $r; d N 64 1 $r; d M 32 1 $r; d M 64 1 $r; done
for r in 1 2; do d A 32 16,64 $r; d N 32 16,64 $r; d M 32 16,64 $r; done
timeout $(lim 40) ../build-N/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch 1,16,64 --mix dense,fa-ssa:0.5,fa-ssa:0.75 --max-time 0.3 --flush read --json $o/decode_ours.json > $o/decode-ours.txt 2>&1
echo "ours grid: $(tail -1 $o/decode-ours.txt)" >> $f
LENS=8192,32768,131072 BATCHES=1,16,64 MIXES=dense,fa-ssa:0.5,fa-ssa:0.75 FLUSH=read BUDGET_S=$(( $(left) - 15 )) timeout $(lim 200) python3 bench/decode_peers.py --out $o > $o/peers.log 2>&1; echo "peers rc=$?: $(tail -1 $o/peers.log)" >> $f
python3 bench/join_decode.py --ours $o/decode_ours.json --peers $o/decode_peers.json --out $o/decode_table.md > /dev/null 2>$o/join.err; echo "join rc=$?" >> $f
nvidia-smi > $o/machine.txt 2>&1
cat $f; grep -E "^\| 131072 \| |^\| 32768 \| 1 " $o/decode_table.md; cd $OUT && tar czf c58.tgz c58
