#!/usr/bin/env bash
# Call 82 (2026-12-04, fifth session): the merge launch's blocks waiting on the row tile's arrival
# count instead of griddepcontrol.wait, without call 80's pool tiles (dropped: batch 16 / 64 steps
# 5-6% slower in call 81). Every tree has 53ba434's decode bench (the lead).
#   A  = b495f03's kernels (.base/);
#   M  = the working tree (d41925e: the arrival-count wait, merge launch above 32 chunks as before);
#   M1 = M with DECODE_MERGE_IN_BLOCK_MAX = 1 (.m1/): every cut head merges in the merge launch.
#   1. M and M1: decode conformance on cuda:0 (every family), the split family forced, hip:0 (M);
#      memcheck and racecheck on the decode group (M1: the merge code is M's, run on every cut head);
#      decode_check and decode-graph (a captured step);
#   2. --batch 1: A M M1, four rounds; 3. --batch 16,64: A M M1, one round.
set -u
o=$OUT/c82; mkdir -p $o; f=$o/c82.txt
left() { echo $((585 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1; git log --oneline -1 >> $o/tree.txt
cfg="-Dcuda=enabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true"
t="bench/elattn-decode-bench elattn-libs"
tt="conformance/elattn-conformance api/tests/decode_check api/tests/decode_graph"
(cd .base && meson setup build-A $cfg -Dhip=disabled -Dtests=false >/dev/null && ninja -C build-A -j3 $t) > $o/buildA.log 2>&1 &
(cd .m1 && meson setup build-M1 $cfg -Dhip=disabled -Dtests=true >/dev/null && ninja -C build-M1 -j5 $t $tt) > $o/buildM1.log 2>&1 &
(meson setup build-M $cfg -Dhip=enabled -Dhip_platform=nvidia -Dtests=true >/dev/null && ninja -C build-M -j8 $t $tt) > $o/buildM.log 2>&1
wait; echo "builds $SECONDS s: A $(tail -1 $o/buildA.log | cut -c1-40) / M $(tail -1 $o/buildM.log | cut -c1-40) / M1 $(tail -1 $o/buildM1.log | cut -c1-40)" >> $f
cf() { local n=$1; shift; timeout $(lim 60) "$@" > $o/conf-$n.txt 2>&1; echo "conf $n: $(tail -1 $o/conf-$n.txt)" >> $f; grep -E "FAIL|ERROR" $o/conf-$n.txt | head -3 | cut -c1-200 >> $f; }
for v in M M1; do b=build-$v; [ $v = M1 ] && b=.m1/build-M1
  cf decode-$v $b/conformance/elattn-conformance --backend cuda:0 --case decode/
  cf decode-split-$v $b/conformance/elattn-conformance --backend cuda:0 --case decode/ --kernel cuda.decode.split
  timeout $(lim 40) $b/api/tests/decode_check cuda:0 > $o/decode-check-$v.txt 2>&1; echo "decode_check $v rc=$?: $(tail -1 $o/decode-check-$v.txt)" >> $f
  timeout $(lim 40) $b/api/tests/decode_graph cuda > $o/decode-graph-$v.txt 2>&1; echo "decode_graph $v rc=$?: $(tail -1 $o/decode-graph-$v.txt)" >> $f
  [ $v = M1 ] && for tool in memcheck racecheck; do timeout $(lim 80) compute-sanitizer --tool $tool $b/conformance/elattn-conformance --backend cuda:0 --case decode/ --no-isolate > $o/$tool-$v.txt 2>&1
    echo "$tool $v: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' $o/$tool-$v.txt | tail -1) / $(tail -1 $o/$tool-$v.txt | cut -c1-60)" >> $f; done
done
cf decode-hip-M build-M/conformance/elattn-conformance --backend hip:0 --case decode/
bin() { case $1 in A) echo .base/build-A/bench/elattn-decode-bench;; M1) echo .m1/build-M1/bench/elattn-decode-bench;; *) echo build-M/bench/elattn-decode-bench;; esac; }
d() { local n=dec-$1-b$2-$3
  timeout $(lim 45) $(bin $1) --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch $2 --mix dense,fa-ssa:0.5,fa-ssa:0.75 --max-time 0.3 --flush read --json $o/$n.json > $o/$n.txt 2>&1
  echo "$n: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"Kx"$2" "$3"="$4}' | tr '\n' ' ')| $(nvidia-smi --query-gpu=clocks.sm,clocks.mem --format=csv,noheader)" >> $f; }
for r in 1 2 3 4; do d A 1 $r; d M 1 $r; d M1 1 $r; done
d A 16,64 1; d M 16,64 1; d M1 16,64 1
nvidia-smi > $o/machine.txt 2>&1
cat $f; cd $OUT && tar czf c82.tgz c82
