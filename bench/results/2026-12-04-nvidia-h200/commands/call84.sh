#!/usr/bin/env bash
# Call 84 (2026-12-04, fifth session): DECODE_MERGE_TAIL, the last min(chunks, 8) chunks of a cut
# row tile to arrive wait for the others and merge a column slice each, in a cooperative chunk
# launch (whenever the whole grid is resident at once), against M = d41925e (merge launch above 32
# chunks with blocks waiting on the arrival count, else the last chunk merges alone; .base/).
# Both trees have the decode bench's lead.
#   1. T: decode conformance on cuda:0 (every family), the split family forced, hip:0; memcheck and
#      racecheck on the decode group; decode_check; decode-graph (a captured cooperative launch);
#   2. --batch 1: M T, four rounds; 3. --batch 16,64: M T, one round.
set -u
o=$OUT/c84; mkdir -p $o; f=$o/c84.txt
left() { echo $((585 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1; git log --oneline -1 >> $o/tree.txt
cfg="-Dcuda=enabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true"
t="bench/elattn-decode-bench elattn-libs"
tt="conformance/elattn-conformance api/tests/decode_check api/tests/decode_graph"
(cd .base && meson setup build-M $cfg -Dhip=disabled -Dtests=false >/dev/null && ninja -C build-M -j5 $t) > $o/buildM.log 2>&1 &
(meson setup build-T $cfg -Dhip=enabled -Dhip_platform=nvidia -Dtests=true >/dev/null && ninja -C build-T -j11 $t $tt) > $o/buildT.log 2>&1
wait; echo "builds $SECONDS s: M $(tail -1 $o/buildM.log | cut -c1-40) / T $(tail -1 $o/buildT.log | cut -c1-40)" >> $f
C=build-T/conformance/elattn-conformance
cf() { local n=$1; shift; timeout $(lim 60) "$@" > $o/conf-$n.txt 2>&1; echo "conf $n: $(tail -1 $o/conf-$n.txt)" >> $f; grep -E "FAIL|ERROR" $o/conf-$n.txt | head -3 | cut -c1-200 >> $f; }
cf decode $C --backend cuda:0 --case decode/
cf decode-split $C --backend cuda:0 --case decode/ --kernel cuda.decode.split
cf decode-hip $C --backend hip:0 --case decode/
timeout $(lim 40) build-T/api/tests/decode_check cuda:0 > $o/decode-check.txt 2>&1; echo "decode_check rc=$?: $(tail -1 $o/decode-check.txt)" >> $f
timeout $(lim 40) build-T/api/tests/decode_graph cuda > $o/decode-graph.txt 2>&1; echo "decode_graph rc=$?: $(tail -1 $o/decode-graph.txt)" >> $f
for tool in memcheck racecheck; do timeout $(lim 90) compute-sanitizer --tool $tool $C --backend cuda:0 --case decode/ --no-isolate > $o/$tool.txt 2>&1
  echo "$tool: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' $o/$tool.txt | tail -1) / $(tail -1 $o/$tool.txt | cut -c1-60)" >> $f; done
bin() { [ $1 = M ] && echo .base/build-M/bench/elattn-decode-bench || echo build-T/bench/elattn-decode-bench; }
d() { local n=dec-$1-b$2-$3
  timeout $(lim 45) $(bin $1) --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch $2 --mix dense,fa-ssa:0.5,fa-ssa:0.75 --max-time 0.3 --flush read --json $o/$n.json > $o/$n.txt 2>&1
  echo "$n: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"Kx"$2" "$3"="$4}' | tr '\n' ' ')| $(nvidia-smi --query-gpu=clocks.sm,clocks.mem --format=csv,noheader)" >> $f; }
for r in 1 2 3 4; do d M 1 $r; d T 1 $r; done
d M 16,64 1; d T 16,64 1
nvidia-smi > $o/machine.txt 2>&1
cat $f; cd $OUT && tar czf c84.tgz c84
