#!/usr/bin/env bash
# Call 101 (written 2026-12-05, eleventh session, after call 100): the rule call 100 led to, timed
# against main as it was. Run from the repository root with `run`, carry [".p"], after
#   git archive 3c087de | tar -x -C .p --exclude=bench/results --exclude=bench/lab/notes
#   P = .p (3c087de: the eight-thread score, plain launches); N = the working tree (the score's form by
#   pages scored, QUEST_LANES_MAX_PAGES_PER_SM 256; early launches only when a FULL or STREAMING head
#   is beside the BLOCK_SPARSE ones). Decode conformance and decode_graph on cuda:0, then P N P N P N.
set -u
o=$OUT/qc; mkdir -p $o; f=$o/qc.txt
left() { echo $((330 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1
nvidia-smi --query-gpu=name --format=csv,noheader >> $f 2>&1
cfg="-Dcuda=enabled -Dnvcc_arch=sm_90a -Dbench=true -Dhip=disabled -Dopencl=disabled"
(cd .p && { [ -f build-qp/build.ninja ] || meson setup build-qp $cfg -Dtests=false >/dev/null; } && ninja -C build-qp -j6 bench/elattn-decode-bench elattn-libs) > $o/build-p.log 2>&1 &
b=build-qc
({ [ -f $b/build.ninja ] || meson setup $b $cfg -Dtests=true >/dev/null; } &&
  ninja -C $b -j12 bench/elattn-decode-bench conformance/elattn-conformance api/tests/decode_graph elattn-libs) > $o/build-n.log 2>&1
wait; echo "builds $SECONDS s: P $(tail -1 $o/build-p.log | cut -c1-50) / N $(tail -1 $o/build-n.log | cut -c1-50)" >> $f
timeout $(lim 60) $b/conformance/elattn-conformance --backend cuda:0 --case decode/ > $o/conf.txt 2>&1; echo "conf decode rc=$?: $(tail -1 $o/conf.txt)" >> $f
grep -E "FAIL|ERROR" $o/conf.txt | head -5 | cut -c1-220 >> $f
timeout $(lim 30) $b/api/tests/decode_graph cuda > $o/graph.txt 2>&1; echo "decode_graph rc=$?: $(tail -1 $o/graph.txt | cut -c1-150)" >> $f
P=.p/build-qp/bench/elattn-decode-bench; N=$b/bench/elattn-decode-bench
d() { local v=$1 bin=$2 n=dec-$1-$3; [ "$(left)" -lt 30 ] && return
  timeout $(lim 40) $bin --device cuda:0 --head-dim 128 --dtype bf16 --lens 32768,131072 --batch 1,4,16 --mix dense,fa-xa:0.5,fa-xa:1 --max-time 0.2 --flush read --page-budget 64 --json $o/$n.json > $o/$n.txt 2>&1
  echo "$n rc=$?: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"Kx"$2" "$3"="$4}' | tr '\n' ' ')" >> $f; }
for r in 1 2 3; do d P $P r$r; d N $N r$r; done
echo "end $SECONDS s" >> $f
cd $OUT && tar czf qc.tgz qc && rm -rf qc/dec-* qc/conf.txt qc/build* qc/graph.txt
cat $f
