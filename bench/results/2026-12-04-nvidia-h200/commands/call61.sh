#!/usr/bin/env bash
# Call 61 (2026-12-04, second session): issue 14 / the engine surface, decode batches for CUDA
# graphs (the working tree, N): api tests decode-graph (a batch's run captured once, replayed for 14
# steps of growing sequences against the oracle, every CUDA decode family), decode-batch-hip (HIP
# through the HIP-to-CUDA layer), decode-cuda / decode-hip (the plain runs after gpu_decode_run's
# refactor); decode conformance on cuda:0 and hip:0; memcheck and racecheck on decode_graph; a
# --batch 1 decode step of N beside main (A, .base/) for the plain path.
set -u
o=$OUT/c61; mkdir -p $o; f=$o/c61.txt
left() { echo $((575 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1; git log --oneline -1 >> $o/tree.txt
cfg="-Dcuda=enabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true"
(cd .base && meson setup build-A $cfg -Dhip=disabled -Dtests=false >/dev/null && ninja -C build-A -j4) > $o/buildA.log 2>&1 &
(meson setup build-N $cfg -Dhip=enabled -Dhip_platform=nvidia -Dtests=true >/dev/null && ninja -C build-N -j12) > $o/buildN.log 2>&1
wait; echo "builds $SECONDS s: A $(tail -1 $o/buildA.log | cut -c1-30) / N $(tail -1 $o/buildN.log | cut -c1-30)" >> $f
(cd build-N && timeout $(lim 200) meson test decode-graph decode-batch-hip decode-batch-reference decode-cuda decode-hip graph-capture --print-errorlogs) > $o/mtest.txt 2>&1
echo "meson test: $(grep -E '^ *[0-9]+/[0-9]+ ' $o/mtest.txt | awk '{print $3, $4}' | tr '\n' ' ')" >> $f
cp build-N/meson-logs/testlog.txt $o/testlog.txt 2>/dev/null
grep -E "^ok|^FAIL|unsupported" $o/testlog.txt | head -20 >> $f
C=build-N/conformance/elattn-conformance
cf() { local n=$1; shift; timeout $(lim 60) $C "$@" > $o/conf-$n.txt 2>&1; echo "conf $n: $(tail -1 $o/conf-$n.txt)" >> $f; grep -E "FAIL|ERROR" $o/conf-$n.txt | head -3 | cut -c1-200 >> $f; }
cf decode --backend cuda:0 --case decode/
cf decode-hip --backend hip:0 --case decode/
for t in memcheck racecheck; do timeout $(lim 90) compute-sanitizer --tool $t build-N/api/tests/decode_graph cuda > $o/$t-graph.txt 2>&1
  echo "$t decode_graph: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' $o/$t-graph.txt | tail -1) / $(grep -E 'PASSED|FAILED' $o/$t-graph.txt | tail -1)" >> $f; done
bin() { [ $1 = A ] && echo .base/build-A/bench/elattn-decode-bench || echo build-N/bench/elattn-decode-bench; }
d() { local n=dec-$1-$2
  timeout $(lim 40) $(bin $1) --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch 1 --mix dense,fa-ssa:0.5,fa-ssa:0.75 --max-time 0.3 --flush read > $o/$n.txt 2>&1
  echo "$n: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"Kx"$2" "$3"="$4}' | tr '\n' ' ')" >> $f; }
for r in 1 2; do d A $r; d N $r; done
nvidia-smi > $o/machine.txt 2>&1
cat $f; cd $OUT && tar czf c61.tgz c61
