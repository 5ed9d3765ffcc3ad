#!/usr/bin/env bash
# Call 80 (2026-12-04, fifth session): issue 14's batch-1 128K step, two changes to cuda.decode.mma
# and the merge launch, against main (A: b495f03, carried as .base/):
#   N1 (2ede791, carried as .n1/): a cut head's long chunks walk a fixed 3/4 share, then take pool
#      tiles from a counter (chunk_walk);
#   N2 (the working tree): N1 + the merge launch's blocks wait on the row tile's arrival count
#      instead of griddepcontrol.wait.
#   1. N2: decode conformance on cuda:0 (both families), the split family forced, hip:0; memcheck and
#      racecheck on the decode group; decode_check; N1: decode conformance on cuda:0;
#   2. --batch 1, 8K / 32K / 128K, one process per run: A N1 N2, three rounds (clocks logged);
#   3. --batch 16,64: A N1 N2, one round.
set -u
o=$OUT/c80; mkdir -p $o; f=$o/c80.txt
left() { echo $((580 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1; git log --oneline -1 >> $o/tree.txt
cfg="-Dcuda=enabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true"
t="bench/elattn-decode-bench elattn-libs"
(cd .base && meson setup build-A $cfg -Dhip=disabled -Dtests=false >/dev/null && ninja -C build-A -j4 $t) > $o/buildA.log 2>&1 &
(cd .n1 && meson setup build-N1 $cfg -Dhip=disabled -Dtests=false >/dev/null && ninja -C build-N1 -j4 $t conformance/elattn-conformance) > $o/buildN1.log 2>&1 &
(meson setup build-N2 $cfg -Dhip=enabled -Dhip_platform=nvidia -Dtests=true >/dev/null && ninja -C build-N2 -j8 $t conformance/elattn-conformance api/tests/decode_check) > $o/buildN2.log 2>&1
wait; echo "builds $SECONDS s: A $(tail -1 $o/buildA.log | cut -c1-40) / N1 $(tail -1 $o/buildN1.log | cut -c1-40) / N2 $(tail -1 $o/buildN2.log | cut -c1-40)" >> $f
C=build-N2/conformance/elattn-conformance
cf() { local n=$1; shift; timeout $(lim 60) "$@" > $o/conf-$n.txt 2>&1; echo "conf $n: $(tail -1 $o/conf-$n.txt)" >> $f; grep -E "FAIL|ERROR" $o/conf-$n.txt | head -3 | cut -c1-200 >> $f; }
cf decode $C --backend cuda:0 --case decode/
cf decode-split $C --backend cuda:0 --case decode/ --kernel cuda.decode.split
cf decode-hip $C --backend hip:0 --case decode/
cf decode-N1 .n1/build-N1/conformance/elattn-conformance --backend cuda:0 --case decode/ --kernel cuda.decode.mma
for tool in memcheck racecheck; do timeout $(lim 90) compute-sanitizer --tool $tool $C --backend cuda:0 --case decode/ --kernel cuda.decode.mma --no-isolate > $o/$tool-decode.txt 2>&1
  echo "$tool decode: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' $o/$tool-decode.txt | tail -1) / $(tail -1 $o/$tool-decode.txt | cut -c1-60)" >> $f; done
timeout $(lim 40) build-N2/api/tests/decode_check cuda:0 > $o/decode-check.txt 2>&1; echo "decode_check rc=$?: $(tail -1 $o/decode-check.txt)" >> $f
bin() { case $1 in A) echo .base/build-A/bench/elattn-decode-bench;; N1) echo .n1/build-N1/bench/elattn-decode-bench;; *) echo build-N2/bench/elattn-decode-bench;; esac; }
d() { local n=dec-$1-b$2-$3
  timeout $(lim 45) $(bin $1) --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch $2 --mix dense,fa-ssa:0.5,fa-ssa:0.75 --max-time 0.3 --flush read > $o/$n.txt 2>&1
  echo "$n: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"Kx"$2" "$3"="$4}' | tr '\n' ' ')| $(nvidia-smi --query-gpu=clocks.sm,clocks.mem --format=csv,noheader)" >> $f; }
for r in 1 2 3; do d A 1 $r; d N1 1 $r; d N2 1 $r; done
d A 16,64 1; d N1 16,64 1; d N2 16,64 1
nvidia-smi > $o/machine.txt 2>&1
cat $f; cd $OUT && tar czf c80.tgz c80
