#!/usr/bin/env bash
# Call 100 (written 2026-12-05, eleventh session): Quest's score in both forms, chosen per run, and the
# decode launches after Quest's select started early (programmatic dependent launches, sm_90).
# Run from the repository root with `run`, carry [".p"] (shared/tools travels with the tree), after
#   git archive 3c087de | tar -x -C .p --exclude=bench/results --exclude=bench/lab/notes
#   P = .p (main as it was: the eight-thread score, plain launches);
#   N = the working tree (both score forms, quest_score_lanes picks; ELATTN_DECODE_QUEST_SCORE=thread|lanes
#       forces one; select and chunk kernel as programmatic dependent launches: in.quest_overlap).
#   1. N: decode conformance on cuda:0 (both families, the score forms forced), decode_graph (Quest in a
#      captured graph), memcheck on the Quest cases;
#   2. timing, alternating processes P / N thread / N lanes: dense, fa-xa:0.5, fa-xa:1 with
#      --page-budget 64 at 32K and 128K x batch 1, 4, 16;
#   3. the decode benchmark on opencl:1 alone, line-buffered, stderr apart, with its exit status
#      (call 97's runs there left empty files).
set -u
o=$OUT/qs; mkdir -p $o; f=$o/qs.txt
left() { echo $((470 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv,noheader >> $f 2>&1
. shared/tools/nvidia-opencl.sh
cfg="-Dcuda=enabled -Dnvcc_arch=sm_90a -Dbench=true -Dhip=disabled"
(cd .p && meson setup build-qp $cfg -Dopencl=disabled -Dtests=false >/dev/null && ninja -C build-qp -j6 bench/elattn-decode-bench elattn-libs) > $o/build-p.log 2>&1 &
b=build-qs
(meson setup $b $cfg -Dopencl=enabled -Dtests=true >/dev/null &&
  ninja -C $b -j12 bench/elattn-decode-bench conformance/elattn-conformance api/tests/decode_graph elattn-libs) > $o/build-n.log 2>&1
wait; echo "builds $SECONDS s: P $(tail -1 $o/build-p.log | cut -c1-50) / N $(tail -1 $o/build-n.log | cut -c1-50)" >> $f
cf() { local n=$1 t=$2 form=$3; shift 3; ELATTN_DECODE_QUEST_SCORE=$form timeout $(lim $t) "$@" > $o/conf-$n.txt 2>&1
  echo "conf $n rc=$?: $(tail -1 $o/conf-$n.txt)" >> $f; grep -E "FAIL|ERROR" $o/conf-$n.txt | head -5 | cut -c1-220 >> $f; }
cf decode-cuda 90 "" $b/conformance/elattn-conformance --backend cuda:0 --case decode/
cf quest-cuda-thread 40 thread $b/conformance/elattn-conformance --backend cuda:0 --case decode/quest
cf quest-cuda-lanes 40 lanes $b/conformance/elattn-conformance --backend cuda:0 --case decode/quest
timeout $(lim 40) $b/api/tests/decode_graph cuda > $o/graph.txt 2>&1; echo "decode_graph rc=$?: $(tail -1 $o/graph.txt | cut -c1-150)" >> $f
for tool in memcheck; do ELATTN_DECODE_QUEST_SCORE=thread timeout $(lim 60) compute-sanitizer --tool $tool $b/conformance/elattn-conformance --backend cuda:0 --case decode/quest --no-isolate > $o/$tool.txt 2>&1
  echo "$tool rc=$?: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' $o/$tool.txt | tail -1) / $(grep -E 'conformance:' $o/$tool.txt | tail -1 | cut -c1-80)" >> $f; done
P=.p/build-qp/bench/elattn-decode-bench; N=$b/bench/elattn-decode-bench
d() { local v=$1 form=$2 bin=$3 n=dec-$1-$4; [ "$(left)" -lt 60 ] && return
  ELATTN_DECODE_QUEST_SCORE=$form timeout $(lim 50) $bin --device cuda:0 --head-dim 128 --dtype bf16 --lens 32768,131072 --batch 1,4,16 --mix dense,fa-xa:0.5,fa-xa:1 --max-time 0.2 --flush read --page-budget 64 --json $o/$n.json > $o/$n.txt 2>&1
  echo "$n rc=$?: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"Kx"$2" "$3"="$4}' | tr '\n' ' ')" >> $f; }
for r in 1 2; do d P "" $P r$r; d Nthread thread $N r$r; d Nlanes lanes $N r$r; done
export PATH=$PATH:/usr/local/cuda/bin
if [ "$(left)" -gt 25 ]; then n=ocl
  timeout $(lim 60) $N --device opencl:1 --head-dim 128 --dtype bf16 --lens 32768 --batch 1 --mix dense,fa-xa:0.5 --max-time 0.3 --page-budget 64 > $o/$n.txt 2> $o/$n.err
  echo "$n rc=$? ($SECONDS s): $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"Kx"$2" "$3"="$4}' | tr '\n' ' ') / last: $(tail -1 $o/$n.txt | cut -c1-120) / err: $(tail -2 $o/$n.err | tr '\n' ' ' | cut -c1-200)" >> $f; fi
echo "end $SECONDS s" >> $f
cd $OUT && tar czf qs.tgz qs && rm -rf qs/dec-* qs/conf-* qs/build* qs/ncu-* qs/memcheck.txt qs/racecheck.txt qs/graph.txt
cat $f
