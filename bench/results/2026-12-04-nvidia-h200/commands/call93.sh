#!/usr/bin/env bash
# Call 93 (2026-12-04, sixth session): the in-block merge staged through shared memory again, in
# a compact form (call 92's ncu: the first form's tail 7 us longer with cold caches: unrolled
# loops and index divisions per copy), and the merge launch counting its slice after its loads.
#   A  = 8e5038e (.base/);  N3 = A + the compact in-block staging (.n3/);
#   N4 = the working tree: N3 + the merge launch's count after its loads (16-chunk batches dropped);
#   S  = N4 with the staging capped at 45000 bytes (.s/): several batches per head (correctness).
#   1. N4: decode conformance on cuda:0 (every family), the split family forced, hip:0 (staging
#      without cp.async, 32 KB: several batches), decode_check, decode_graph; S: cuda:0 the same.
#   2. --batch 1: A N3 N4, three rounds alternating; --batch 16,64: A N4 once.
#   3. ncu (cold caches, base clocks): 8K x 1 dense's chunk kernel, A N3 N4.
set -u
o=$OUT/c93; mkdir -p $o; f=$o/c93.txt
left() { echo $((585 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1; git log --oneline -1 >> $o/tree.txt
cfg="-Dcuda=enabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true"
t="bench/elattn-decode-bench elattn-libs"
tt="conformance/elattn-conformance api/tests/decode_check api/tests/decode_graph"
for v in base n3; do (cd .$v && meson setup build-c93 $cfg -Dhip=disabled -Dtests=false >/dev/null && ninja -C build-c93 -j3 $t) > $o/build-$v.log 2>&1 & done
(cd .s && meson setup build-c93 $cfg -Dbench=false -Dhip=disabled -Dtests=true >/dev/null && ninja -C build-c93 -j4 $tt) > $o/build-s.log 2>&1 &
(meson setup build-c93 $cfg -Dhip=enabled -Dhip_platform=nvidia -Dtests=true >/dev/null && ninja -C build-c93 -j6 $t $tt) > $o/build-n4.log 2>&1
wait; echo "builds $SECONDS s: $(for v in base n3 s n4; do echo -n "$v $(tail -1 $o/build-$v.log | cut -c1-30) / "; done)" >> $f
cf() { local n=$1; shift; timeout $(lim 60) "$@" > $o/conf-$n.txt 2>&1; echo "conf $n: $(tail -1 $o/conf-$n.txt)" >> $f; grep -E "FAIL|ERROR" $o/conf-$n.txt | head -3 | cut -c1-200 >> $f; }
for v in N4 S; do b=build-c93; [ $v = S ] && b=.s/build-c93
  cf decode-$v $b/conformance/elattn-conformance --backend cuda:0 --case decode/
  cf decode-split-$v $b/conformance/elattn-conformance --backend cuda:0 --case decode/ --kernel cuda.decode.split
  timeout $(lim 40) $b/api/tests/decode_check cuda:0 > $o/decode-check-$v.txt 2>&1; echo "decode_check $v rc=$?: $(tail -1 $o/decode-check-$v.txt)" >> $f
  timeout $(lim 40) $b/api/tests/decode_graph cuda > $o/decode-graph-$v.txt 2>&1; echo "decode_graph $v rc=$?: $(tail -1 $o/decode-graph-$v.txt)" >> $f
done
cf decode-hip-N4 build-c93/conformance/elattn-conformance --backend hip:0 --case decode/
timeout $(lim 40) build-c93/api/tests/decode_check hip:0 > $o/decode-check-hip.txt 2>&1; echo "decode_check hip rc=$?: $(tail -1 $o/decode-check-hip.txt)" >> $f
bin() { case $1 in A) echo .base/build-c93/bench/elattn-decode-bench;; N3) echo .n3/build-c93/bench/elattn-decode-bench;; *) echo build-c93/bench/elattn-decode-bench;; esac; }
d() { local n=dec-$1-b$2-$3
  timeout $(lim 45) $(bin $1) --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch $2 --mix dense,fa-ssa:0.5,fa-ssa:0.75 --max-time 0.3 --flush read --json $o/$n.json > $o/$n.txt 2>&1
  echo "$n: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"Kx"$2" "$3"="$4}' | tr '\n' ' ')| $(nvidia-smi --query-gpu=clocks.sm,clocks.mem --format=csv,noheader)" >> $f; }
for r in 1 2 3; do d A 1 $r; d N3 1 $r; d N4 1 $r; done
d A 16,64 1; d N4 16,64 1
export PATH=$PATH:/usr/local/cuda/bin
for v in A N3 N4; do
  timeout $(lim 60) ncu --kernel-name regex:chunk_kernel --launch-skip 6 --launch-count 1 --section SpeedOfLight \
    $(bin $v) --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192 --batch 1 --mix dense --max-time 0.01 --min-reps 3 --warmup 1 --flush read > $o/ncu-$v.txt 2>&1
  echo "ncu 8Kx1 dense chunk kernel $v: $(grep -E 'Duration|Elapsed Cycles|SM Active Cycles' $o/ncu-$v.txt | tr -s ' ' | tr '\n' ';')" >> $f
done
nvidia-smi > $o/machine.txt 2>&1
cd $OUT && tar czf c93.tgz c93 && rm -rf c93/dec-* c93/conf-* c93/build* c93/decode-* c93/ncu-* c93/machine.txt
cat $f
