#!/usr/bin/env bash
# Call 90 (2026-12-04, sixth session): the merges' round trips, after call 89's timeline (8K x 1
# dense: in-block merge 2.9 us; 32K / 128K x 1 fa-ssa:0.75: merge-launch blocks 5-6 us of work).
#   A = 8e5038e (.base/);
#   N = the working tree: the in-block merge stages every chunk's partial into shared memory by
#       cp.async (one round trip for a head that fits; folded batch by batch otherwise); the merge
#       launch folds 16 chunks a batch (was 8) and counts its slice after issuing its loads;
#   S = N with the staging capped at 20000 bytes (.s/): the batch-by-batch fold on every cut head
#       (correctness only).
#   1. N: decode conformance on cuda:0 (every family), the split family forced, hip:0 (the
#      portable kernel's staging without cp.async); decode_check, decode_graph; S: the same on cuda:0.
#   2. --batch 1: A N, four rounds alternating; 3. --batch 16,64: A N, one round.
set -u
o=$OUT/c90; mkdir -p $o; f=$o/c90.txt
left() { echo $((585 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1; git log --oneline -1 >> $o/tree.txt
cfg="-Dcuda=enabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true"
t="bench/elattn-decode-bench elattn-libs"
tt="conformance/elattn-conformance api/tests/decode_check api/tests/decode_graph"
(cd .base && meson setup build-A $cfg -Dhip=disabled -Dtests=false >/dev/null && ninja -C build-A -j3 $t) > $o/buildA.log 2>&1 &
(cd .s && meson setup build-S $cfg -Dbench=false -Dhip=disabled -Dtests=true >/dev/null && ninja -C build-S -j5 $tt) > $o/buildS.log 2>&1 &
(meson setup build-N $cfg -Dhip=enabled -Dhip_platform=nvidia -Dtests=true >/dev/null && ninja -C build-N -j8 $t $tt) > $o/buildN.log 2>&1
wait; echo "builds $SECONDS s: A $(tail -1 $o/buildA.log | cut -c1-40) / N $(tail -1 $o/buildN.log | cut -c1-40) / S $(tail -1 $o/buildS.log | cut -c1-40)" >> $f
cf() { local n=$1; shift; timeout $(lim 60) "$@" > $o/conf-$n.txt 2>&1; echo "conf $n: $(tail -1 $o/conf-$n.txt)" >> $f; grep -E "FAIL|ERROR" $o/conf-$n.txt | head -3 | cut -c1-200 >> $f; }
for v in N S; do b=build-$v; [ $v = S ] && b=.s/build-S
  cf decode-$v $b/conformance/elattn-conformance --backend cuda:0 --case decode/
  cf decode-split-$v $b/conformance/elattn-conformance --backend cuda:0 --case decode/ --kernel cuda.decode.split
  timeout $(lim 40) $b/api/tests/decode_check cuda:0 > $o/decode-check-$v.txt 2>&1; echo "decode_check $v rc=$?: $(tail -1 $o/decode-check-$v.txt)" >> $f
  timeout $(lim 40) $b/api/tests/decode_graph cuda > $o/decode-graph-$v.txt 2>&1; echo "decode_graph $v rc=$?: $(tail -1 $o/decode-graph-$v.txt)" >> $f
done
cf decode-hip-N build-N/conformance/elattn-conformance --backend hip:0 --case decode/
bin() { case $1 in A) echo .base/build-A/bench/elattn-decode-bench;; *) echo build-N/bench/elattn-decode-bench;; esac; }
d() { local n=dec-$1-b$2-$3
  timeout $(lim 45) $(bin $1) --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch $2 --mix dense,fa-ssa:0.5,fa-ssa:0.75 --max-time 0.3 --flush read --json $o/$n.json > $o/$n.txt 2>&1
  echo "$n: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"Kx"$2" "$3"="$4}' | tr '\n' ' ')| $(nvidia-smi --query-gpu=clocks.sm,clocks.mem --format=csv,noheader)" >> $f; }
for r in 1 2 3 4; do d A 1 $r; d N 1 $r; done
d A 16,64 1; d N 16,64 1
nvidia-smi > $o/machine.txt 2>&1
cd $OUT && tar czf c90.tgz c90 && rm -rf c90/dec-* c90/conf-* c90/build* c90/decode-* c90/machine.txt
cat $f
