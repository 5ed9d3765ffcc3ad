#!/usr/bin/env bash
# Call 54 (2026-12-04): the working tree (B) against main (A, carried as .base/). B holds
#   - the decode merge launch: a run with a head of more than 32 chunks merges in a second
#     launch (decode_merge_kernel, 8 blocks per row tile, programmatic dependent launch on
#     sm_90) instead of in the head's last chunk (call 52: 7-10 us on one SM at 128K x 1);
#   - the decode chunk kernel's K/V copies tagged L2 evict-first (call 53);
#   - bench/lab/notes/wgmma-scheduler/decoded-item-handover.patch (call 49);
#   - two new decode conformance cases (heads of 40 and 100 chunks).
# B's checks: decode conformance on cuda:0 (both families) and hip:0 (HIP through nvcc),
# attention with the wgmma family forced, manyitems, memcheck and racecheck on decode; then
# A B A B of the decode step (--flush read) and of attention; then B's decode grid beside the
# torch peers (FLUSH=read), joined.
set -u
o=$OUT/c54; mkdir -p $o; f=$o/c54.txt
left() { echo $((580 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1; git log --oneline -1 >> $o/tree.txt
(cd .base && meson setup ../build-A -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false >/dev/null && ninja -C ../build-A -j5) > $o/buildA.log 2>&1 &
(meson setup build-B -Dcuda=enabled -Dhip=enabled -Dhip_platform=nvidia -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=true >/dev/null && ninja -C build-B -j11) > $o/buildB.log 2>&1
wait; echo "builds $SECONDS s: A $(tail -1 $o/buildA.log | cut -c1-30) / B $(tail -1 $o/buildB.log | cut -c1-30)" >> $f
C=build-B/conformance/elattn-conformance
cf() { local n=$1; shift; timeout $(lim 80) $C "$@" > $o/conf-$n.txt 2>&1; echo "conf $n: $(tail -1 $o/conf-$n.txt)" >> $f; grep -E "FAIL|ERROR" $o/conf-$n.txt | head -3 | cut -c1-200 >> $f; }
cf decode-cuda --backend cuda:0 --case decode/
cf decode-cuda-split --backend cuda:0 --case decode/ --kernel cuda.decode.split
cf decode-hip --backend hip:0 --case decode/
cf attn-wgmma --backend cuda:0 --case attn/ --kernel cuda.attn.wgmma --case-timeout 10
cf manyitems --backend cuda:0 --case manyitems
for t in memcheck racecheck; do timeout $(lim 60) compute-sanitizer --tool $t $C --backend cuda:0 --case decode/ --no-isolate > $o/$t-decode.txt 2>&1
  echo "$t decode: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' $o/$t-decode.txt | tail -1) / $(tail -1 $o/$t-decode.txt | cut -c1-60)" >> $f; done
d() { local n=dec-$1-$2
  timeout $(lim 40) build-$1/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch 1,16 --mix dense,fa-ssa:0.5,fa-ssa:0.75 --max-time 0.3 --flush read > $o/$n.txt 2>&1
  echo "$n: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"Kx"$2" "$3"="$4}' | tr '\n' ' ')" >> $f; }
d A 1; d B 1; d A 2; d B 2
a() { local n=attn-$1-$2
  timeout $(lim 50) build-$1/bench/elattn-bench --set paper --device cuda:0 --dtype bf16 --head-dim 64,128 --lens 8192,32768 --mix dense,fa-ssa:1,fa-ssa:0.75 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05 > $o/$n.txt 2>&1
  echo "$n: $(grep -E '^bf16 ' $o/$n.txt | awk '{print "D"$2" "$3/1024"K "$4"="$6}' | tr '\n' ' ')" >> $f; }
a A 1; a B 1; a A 2; a B 2
timeout $(lim 60) build-B/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch 1,16,64 --mix dense,fa-ssa:0.5,fa-ssa:0.75 --max-time 0.3 --flush read --json $o/decode_ours.json > $o/decode-ours.txt 2>&1
echo "ours grid: $(tail -1 $o/decode-ours.txt)" >> $f
LENS=8192,32768,131072 BATCHES=1,16,64 MIXES=dense,fa-ssa:0.5,fa-ssa:0.75 FLUSH=read BUDGET_S=$(( $(left) - 25 )) timeout $(lim 200) python3 bench/decode_peers.py --out $o > $o/peers.log 2>&1; echo "peers rc=$?: $(tail -1 $o/peers.log)" >> $f
python3 bench/join_decode.py --ours $o/decode_ours.json --peers $o/decode_peers.json --out $o/decode_table.md > /dev/null 2>$o/join.err; echo "join rc=$?" >> $f
nvidia-smi > $o/machine.txt 2>&1
cat $f; grep -E "^\| 131072 \| 1 |^\| 32768 \| 1 " $o/decode_table.md; cd $OUT && tar czf c54.tgz c54
