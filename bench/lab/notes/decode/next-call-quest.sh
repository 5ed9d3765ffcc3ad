#!/usr/bin/env bash
# Written 2026-12-04 (seventh session, no device lent) for the next session's first device call;
# NOT RUN YET. Quest page selection's GPU kernels (kernels/gpu/decode_quest.cuh) have not run on a
# GPU. (2026-12-05, eighth session, again no device: they now run in CI in the CPU emulation of the
# CUDA and HIP backends, with both decode families, cuda.decode.mma and cuda.decode.split; that
# checks their logic, not the GPU's memory model or their speed.) Run from the repository root with `run` (carry .base), after
#   git archive 5184205 | tar -x -C .base --exclude=bench/results --exclude=bench/lab/notes
#   A = 5184205 (.base/, before Quest); N = the working tree.
#   1. N: decode conformance on cuda:0 (the family axis: cuda.decode.mma and cuda.decode.split, the
#      decode/quest cases among them) and on hip:0 (the HIP-to-CUDA layer); decode_graph (its Quest
#      runs replay a captured batch against plain runs); memcheck and racecheck on decode/quest.
#   2. Batch-1 decode without Quest, A N three rounds alternating: the chunk kernels now read their
#      head through decode_head; nothing should move.
#   3. Quest beside dense decode (N only): fa-xa mixes, 32K and 128K, batch 1 and 16, with and
#      without --page-budget 64.
# Record the output under bench/results/<date>-nvidia-h200/ with this script as commands/callNN.sh.
set -u
o=$OUT/cq; mkdir -p $o; f=$o/cq.txt
left() { echo $((560 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1; git log --oneline -1 >> $o/tree.txt
cfg="-Dcuda=enabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true"
t="bench/elattn-decode-bench elattn-libs"
tt="conformance/elattn-conformance api/tests/decode_check api/tests/decode_graph"
(cd .base && meson setup build-cq $cfg -Dhip=disabled -Dtests=false >/dev/null && ninja -C build-cq -j6 $t) > $o/build-a.log 2>&1 &
(meson setup build-cq $cfg -Dhip=enabled -Dhip_platform=nvidia -Dtests=true >/dev/null && ninja -C build-cq -j10 $t $tt) > $o/build-n.log 2>&1
wait; echo "builds $SECONDS s: A $(tail -1 $o/build-a.log | cut -c1-40) / N $(tail -1 $o/build-n.log | cut -c1-40)" >> $f
cf() { local n=$1; shift; timeout $(lim 90) "$@" > $o/conf-$n.txt 2>&1; echo "conf $n: $(tail -1 $o/conf-$n.txt)" >> $f; grep -E "FAIL|ERROR" $o/conf-$n.txt | head -5 | cut -c1-220 >> $f; }
b=build-cq
cf decode-cuda $b/conformance/elattn-conformance --backend cuda:0 --case decode/
cf quest-hip $b/conformance/elattn-conformance --backend hip:0 --case decode/quest
timeout $(lim 60) $b/api/tests/decode_graph cuda > $o/decode-graph.txt 2>&1; echo "decode_graph rc=$?: $(grep -c '^ok' $o/decode-graph.txt) ok, $(tail -1 $o/decode-graph.txt)" >> $f
export PATH=$PATH:/usr/local/cuda/bin
for tool in memcheck racecheck; do timeout $(lim 60) compute-sanitizer --tool $tool $b/conformance/elattn-conformance --backend cuda:0 --case decode/quest --no-isolate > $o/$tool.txt 2>&1
  echo "$tool rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' $o/$tool.txt | tail -1) / $(grep -E 'conformance:' $o/$tool.txt | tail -1 | cut -c1-80)" >> $f; done
d() { local v=$1 bin=$2 batch=$3 mix=$4 extra=$5 n=dec-$1-b$3-$6
  timeout $(lim 60) $bin --device cuda:0 --head-dim 128 --dtype bf16 --lens ${LENS:-8192,32768,131072} --batch $batch --mix $mix --max-time 0.3 --flush read $extra --json $o/$n.json > $o/$n.txt 2>&1
  echo "$n: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"Kx"$2" "$3"="$4}' | tr '\n' ' ')" >> $f; }
A=.base/build-cq/bench/elattn-decode-bench; N=build-cq/bench/elattn-decode-bench
for r in 1 2 3; do d A $A 1 dense,fa-ssa:0.5,fa-ssa:0.75 "" r$r; d N $N 1 dense,fa-ssa:0.5,fa-ssa:0.75 "" r$r; done
LENS=32768,131072 d N $N 1,16 dense,fa-xa:0.5,fa-xa:1 "" dense-xa
LENS=32768,131072 d N $N 1,16 dense,fa-xa:0.5,fa-xa:1 "--page-budget 64" quest64
cd $OUT && tar czf cq.tgz cq && rm -rf cq/dec-* cq/conf-* cq/build* cq/decode-* cq/memcheck.txt cq/racecheck.txt
cat $f
