#!/usr/bin/env bash
# Call 60 (2026-12-04, second session): issue 14, a cut head's tiles handed to its chunks from a
# counter (N: the working tree) against fixed chunk ranges (A: c4001de, carried as .base/).
#   1. N: decode conformance on cuda:0 (both families), the split family forced, hip:0; memcheck
#      and racecheck on the decode group; a step run twice must give the same O to rounding (the
#      conformance compares each run with the reference);
#   2. --batch 1, 8K / 32K / 128K, one process per run: A N A N A N A N (clocks logged);
#   3. --batch 16,64: A N A N.
set -u
o=$OUT/c60; mkdir -p $o; f=$o/c60.txt
left() { echo $((575 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1; git log --oneline -1 >> $o/tree.txt
cfg="-Dcuda=enabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true"
(cd .base && meson setup build-A $cfg -Dhip=disabled -Dtests=false >/dev/null && ninja -C build-A -j5) > $o/buildA.log 2>&1 &
(meson setup build-N $cfg -Dhip=enabled -Dhip_platform=nvidia -Dtests=true >/dev/null && ninja -C build-N -j11) > $o/buildN.log 2>&1
wait; echo "builds $SECONDS s: A $(tail -1 $o/buildA.log | cut -c1-30) / N $(tail -1 $o/buildN.log | cut -c1-30)" >> $f
C=build-N/conformance/elattn-conformance
cf() { local n=$1; shift; timeout $(lim 60) $C "$@" > $o/conf-$n.txt 2>&1; echo "conf $n: $(tail -1 $o/conf-$n.txt)" >> $f; grep -E "FAIL|ERROR" $o/conf-$n.txt | head -3 | cut -c1-200 >> $f; }
cf decode --backend cuda:0 --case decode/
cf decode-split --backend cuda:0 --case decode/ --kernel cuda.decode.split
cf decode-hip --backend hip:0 --case decode/
cf decode-again --backend cuda:0 --case decode/ --kernel cuda.decode.mma
for t in memcheck racecheck; do timeout $(lim 90) compute-sanitizer --tool $t $C --backend cuda:0 --case decode/ --no-isolate > $o/$t-decode.txt 2>&1
  echo "$t decode: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' $o/$t-decode.txt | tail -1) / $(tail -1 $o/$t-decode.txt | cut -c1-60)" >> $f; done
timeout $(lim 40) build-N/api/tests/decode_check cuda:0 > $o/decode-check.txt 2>&1; echo "decode_check rc=$?: $(tail -1 $o/decode-check.txt)" >> $f
bin() { [ $1 = A ] && echo .base/build-A/bench/elattn-decode-bench || echo build-N/bench/elattn-decode-bench; }
d() { local n=dec-$1-b$2-$3
  timeout $(lim 40) $(bin $1) --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch $2 --mix dense,fa-ssa:0.5,fa-ssa:0.75 --max-time 0.3 --flush read > $o/$n.txt 2>&1
  echo "$n: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"Kx"$2" "$3"="$4}' | tr '\n' ' ')| $(nvidia-smi --query-gpu=clocks.sm,clocks.mem --format=csv,noheader)" >> $f; }
for r in 1 2 3 4; do d A 1 $r; d N 1 $r; done
for r in 1 2; do d A 16,64 $r; d N 16,64 $r; done
nvidia-smi > $o/machine.txt 2>&1
cat $f; cd $OUT && tar czf c60.tgz c60
