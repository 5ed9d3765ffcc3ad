#!/usr/bin/env bash
# Quest page selection's first GPU call (written 2026-12-04, no device then; run as call 96 on
# 2026-12-05). Its GPU kernels (kernels/gpu/decode_quest.cuh) had run only in the CPU emulation of
# the CUDA and HIP backends. Run from the repository root with `run` (carry .base and .q), after
#   git archive 5184205 | tar -x -C .base --exclude=bench/results --exclude=bench/lab/notes
#   git archive 5d6b2bc | tar -x -C .q --exclude=bench/results --exclude=bench/lab/notes
#   A = 5184205 (.base/, before Quest); Q = 5d6b2bc (.q/, Quest with a serial digit search);
#   N = the working tree (the select's digit found by a block scan).
# In order of what matters if the call is cut short:
#   1. N: decode conformance on cuda:0 (the family axis: cuda.decode.mma and cuda.decode.split) and
#      Quest on hip:0 (the HIP-to-CUDA layer).
#   2. Quest beside dense decode, Q N alternating: fa-xa mixes, 32K and 128K, batch 1 and 16, with
#      --page-budget 64; N without it once; ncu's durations of the Quest launches at 128K x 1.
#   3. decode_graph (its Quest runs replay a captured batch); memcheck and racecheck on decode/quest;
#      the quick sets on cuda:0 and hip:0.
#   4. Batch-1 decode without Quest, A N alternating: the chunk kernels read their head through
#      decode_head since 5184205; nothing should move.
#   5. The prefill benchmark's lead (bench_lead): none against the default, alternating processes.
set -u
o=$OUT/cq; mkdir -p $o; f=$o/cq.txt
left() { echo $((560 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1; git log --oneline -1 >> $o/tree.txt
cfg="-Dcuda=enabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true"
t="bench/elattn-decode-bench elattn-libs"
tt="bench/elattn-bench conformance/elattn-conformance api/tests/decode_check api/tests/decode_graph"
(cd .base && meson setup build-cq $cfg -Dhip=disabled -Dtests=false >/dev/null && ninja -C build-cq -j5 $t) > $o/build-a.log 2>&1 &
(cd .q && meson setup build-cq $cfg -Dhip=disabled -Dtests=false >/dev/null && ninja -C build-cq -j5 $t) > $o/build-q.log 2>&1 &
(meson setup build-cq $cfg -Dhip=enabled -Dhip_platform=nvidia -Dtests=true >/dev/null && ninja -C build-cq -j8 $t $tt) > $o/build-n.log 2>&1
wait; echo "builds $SECONDS s: A $(tail -1 $o/build-a.log | cut -c1-40) / Q $(tail -1 $o/build-q.log | cut -c1-40) / N $(tail -1 $o/build-n.log | cut -c1-40)" >> $f
cf() { local n=$1; shift; timeout $(lim 90) "$@" > $o/conf-$n.txt 2>&1; echo "conf $n: $(tail -1 $o/conf-$n.txt)" >> $f; grep -E "FAIL|ERROR" $o/conf-$n.txt | head -5 | cut -c1-220 >> $f; }
b=build-cq
cf decode-cuda $b/conformance/elattn-conformance --backend cuda:0 --case decode/
cf quest-hip $b/conformance/elattn-conformance --backend hip:0 --case decode/quest
d() { local v=$1 bin=$2 batch=$3 mix=$4 extra=$5 n=dec-$1-b$3-$6
  timeout $(lim 60) $bin --device cuda:0 --head-dim 128 --dtype bf16 --lens ${LENS:-8192,32768,131072} --batch $batch --mix $mix --max-time 0.3 --flush read $extra --json $o/$n.json > $o/$n.txt 2>&1
  echo "$n: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"Kx"$2" "$3"="$4}' | tr '\n' ' ')" >> $f; }
A=.base/build-cq/bench/elattn-decode-bench; Q=.q/build-cq/bench/elattn-decode-bench; N=build-cq/bench/elattn-decode-bench
for r in 1 2; do LENS=32768,131072 d Q $Q 1,16 dense,fa-xa:0.5,fa-xa:1 "--page-budget 64" quest64-r$r
  LENS=32768,131072 d N $N 1,16 dense,fa-xa:0.5,fa-xa:1 "--page-budget 64" quest64-r$r; done
LENS=32768,131072 d N $N 1,16 dense,fa-xa:0.5,fa-xa:1 "" dense-xa
export PATH=$PATH:/usr/local/cuda/bin
for v in Q N; do bin=$Q; [ $v = N ] && bin=$N
  timeout $(lim 60) ncu --kernel-name regex:quest --launch-count 8 --metrics gpu__time_duration.sum $bin --device cuda:0 --head-dim 128 --dtype bf16 --lens 131072 --batch 1 --mix fa-xa:0.5 --page-budget 64 --warmup 0 --min-reps 1 --max-reps 2 --max-time 0.01 > $o/ncu-$v.txt 2>&1
  echo "ncu $v: $(awk '/quest_(score|select)/ {k = ($0 ~ /score/) ? "score" : "select"} /gpu__time_duration/ {printf "%s=%s%s ", k, $NF, $(NF-1)}' $o/ncu-$v.txt)" >> $f; done
timeout $(lim 60) $b/api/tests/decode_graph cuda > $o/decode-graph.txt 2>&1; echo "decode_graph rc=$?: $(grep -c '^ok' $o/decode-graph.txt) ok, $(tail -1 $o/decode-graph.txt)" >> $f
for tool in memcheck racecheck; do timeout $(lim 60) compute-sanitizer --tool $tool $b/conformance/elattn-conformance --backend cuda:0 --case decode/quest --no-isolate > $o/$tool.txt 2>&1
  echo "$tool rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' $o/$tool.txt | tail -1) / $(grep -E 'conformance:' $o/$tool.txt | tail -1 | cut -c1-80)" >> $f; done
cf quick-cuda $b/conformance/elattn-conformance --backend cuda:0 --quick
cf quick-hip $b/conformance/elattn-conformance --backend hip:0 --quick
for r in 1 2; do d A $A 1 dense,fa-ssa:0.5,fa-ssa:0.75 "" r$r; d N $N 1 dense,fa-ssa:0.5,fa-ssa:0.75 "" r$r; done
for r in 1 2; do for lt in 0 8192; do n=lead$lt-r$r; [ "$(left)" -lt 30 ] && break 2
  timeout $(lim 40) build-cq/bench/elattn-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768 --mix dense,fa-ssa:0.75 --lead-tokens $lt --min-time 0.5 > $o/$n.txt 2>&1
  echo "$n: $(awk '$1=="bf16" {printf "%s %s %s %s%s%s | ", $3, $4, $6, $7, $8, $9}' $o/$n.txt)" >> $f; done; done
echo "end $SECONDS s" >> $f
cd $OUT && tar czf cq.tgz cq && rm -rf cq/dec-* cq/lead* cq/conf-* cq/build* cq/decode-* cq/memcheck.txt cq/racecheck.txt cq/ncu-*
cat $f
