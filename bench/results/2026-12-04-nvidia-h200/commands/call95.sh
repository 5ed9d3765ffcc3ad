#!/usr/bin/env bash
# Call 95 (2026-12-04, sixth session, the session's last device seconds): the merge launch folds 16
# chunks a round for heads of more than 64 chunks (8 otherwise): call 91's N1 without the late
# count (neutral, call 93) and without 16 for heads of 60 (32K x 1 fa-ssa:0.5, 2 us slower).
#   A = 8e5038e (.base/); N = the working tree.
#   1. N: decode conformance on cuda:0 (every family; its splits100 case runs the wide merge), the
#      split family forced, decode_check, decode_graph.
#   2. --batch 1: A N three rounds alternating; --batch 16,64: A N once.
#   3. N: memcheck and racecheck on the decode group, in what time is left.
set -u
o=$OUT/c95; mkdir -p $o; f=$o/c95.txt
left() { echo $((330 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1; git log --oneline -1 >> $o/tree.txt
cfg="-Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=true"
t="bench/elattn-decode-bench elattn-libs"
tt="conformance/elattn-conformance api/tests/decode_check api/tests/decode_graph"
(cd .base && meson setup build-c95 $cfg -Dtests=false >/dev/null && ninja -C build-c95 -j6 $t) > $o/build-a.log 2>&1 &
(meson setup build-c95 $cfg -Dtests=true >/dev/null && ninja -C build-c95 -j10 $t $tt) > $o/build-n.log 2>&1
wait; echo "builds $SECONDS s: A $(tail -1 $o/build-a.log | cut -c1-40) / N $(tail -1 $o/build-n.log | cut -c1-40)" >> $f
cf() { local n=$1; shift; timeout $(lim 60) "$@" > $o/conf-$n.txt 2>&1; echo "conf $n: $(tail -1 $o/conf-$n.txt)" >> $f; grep -E "FAIL|ERROR" $o/conf-$n.txt | head -3 | cut -c1-200 >> $f; }
b=build-c95
cf decode $b/conformance/elattn-conformance --backend cuda:0 --case decode/
cf decode-split $b/conformance/elattn-conformance --backend cuda:0 --case decode/ --kernel cuda.decode.split
timeout $(lim 40) $b/api/tests/decode_check cuda:0 > $o/decode-check.txt 2>&1; echo "decode_check rc=$?: $(tail -1 $o/decode-check.txt)" >> $f
timeout $(lim 40) $b/api/tests/decode_graph cuda > $o/decode-graph.txt 2>&1; echo "decode_graph rc=$?: $(tail -1 $o/decode-graph.txt)" >> $f
d() { local v=$1 bin=$2 n=dec-$1-b$3-$4
  timeout $(lim 45) $bin --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch $3 --mix dense,fa-ssa:0.5,fa-ssa:0.75 --max-time 0.3 --flush read --json $o/$n.json > $o/$n.txt 2>&1
  echo "$n: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"Kx"$2" "$3"="$4}' | tr '\n' ' ')| $(nvidia-smi --query-gpu=clocks.sm,clocks.mem --format=csv,noheader)" >> $f; }
A=.base/build-c95/bench/elattn-decode-bench; N=build-c95/bench/elattn-decode-bench
for r in 1 2 3; do d A $A 1 $r; d N $N 1 $r; done
d A $A 16,64 1; d N $N 16,64 1
export PATH=$PATH:/usr/local/cuda/bin
for tool in memcheck racecheck; do timeout $(lim 60) compute-sanitizer --tool $tool $b/conformance/elattn-conformance --backend cuda:0 --case decode/ --no-isolate > $o/$tool.txt 2>&1
  echo "$tool rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' $o/$tool.txt | tail -1) / $(grep -E 'conformance:' $o/$tool.txt | tail -1 | cut -c1-80)" >> $f; done
cd $OUT && tar czf c95.tgz c95 && rm -rf c95/dec-* c95/conf-* c95/build* c95/decode-* c95/memcheck.txt c95/racecheck.txt
cat $f
