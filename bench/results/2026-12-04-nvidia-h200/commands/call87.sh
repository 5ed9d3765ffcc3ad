#!/usr/bin/env bash
# Call 87 (2026-12-04, fifth session, the session's last device seconds): two older batch-1 ideas
# measured again now that the decode benchmark no longer times the host (the lead, call 81):
#   A = dc07620 (.base/); P = A + bench/lab/notes/decode/prologue-pages-at-once.patch (call 19:
#   "no faster", measured with the host in the interval); L = A with the in-block merge's LSE pass
#   reading 32 chunks at once instead of 16 (one L2 round trip for a head of 32 chunks).
#   P and L: decode conformance on cuda:0; then --batch 1 A P L three rounds, --batch 16,64 once.
# Only c87.txt is written under $OUT until the end (the call may be cut by the device budget).
set -u
o=$OUT/c87; w=/tmp/c87; mkdir -p $o $w; f=$o/c87.txt
left() { echo $((295 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
cfg="-Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=true"
t="bench/elattn-decode-bench elattn-libs"
(cd .base && meson setup build $cfg -Dtests=false >/dev/null && ninja -C build -j4 $t) > $w/buildA.log 2>&1 &
(cd .p && meson setup build $cfg -Dtests=true >/dev/null && ninja -C build -j6 $t conformance/elattn-conformance) > $w/buildP.log 2>&1 &
(cd .l && meson setup build $cfg -Dtests=true >/dev/null && ninja -C build -j6 $t conformance/elattn-conformance) > $w/buildL.log 2>&1
wait; echo "builds $SECONDS s: A $(tail -1 $w/buildA.log | cut -c1-30) / P $(tail -1 $w/buildP.log | cut -c1-30) / L $(tail -1 $w/buildL.log | cut -c1-30)" >> $f
for v in p l; do timeout $(lim 30) .$v/build/conformance/elattn-conformance --backend cuda:0 --case decode/ > $w/conf-$v.txt 2>&1; echo "conf $v: $(tail -1 $w/conf-$v.txt)" >> $f; grep -E "FAIL|ERROR" $w/conf-$v.txt | head -3 | cut -c1-200 >> $f; done
bin() { case $1 in A) echo .base/build/bench/elattn-decode-bench;; P) echo .p/build/bench/elattn-decode-bench;; *) echo .l/build/bench/elattn-decode-bench;; esac; }
d() { local n=dec-$1-b$2-$3
  timeout $(lim 40) $(bin $1) --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch $2 --mix dense,fa-ssa:0.5,fa-ssa:0.75 --max-time 0.3 --flush read > $w/$n.txt 2>&1
  echo "$n: $(sed -n '/^results/,$p' $w/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"Kx"$2" "$3"="$4}' | tr '\n' ' ')" >> $f; }
for r in 1 2 3; do d A 1 $r; d P 1 $r; d L 1 $r; done
d A 16,64 1; d P 16,64 1; d L 16,64 1
cp $w/*.txt $o/ 2>/dev/null; cd $OUT && tar czf c87.tgz c87 && rm -f c87/dec-* c87/conf-* c87/build*
cat $f
