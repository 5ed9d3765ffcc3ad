#!/usr/bin/env bash
# Call 53 (2026-12-04): call 52's stamps put the 122-chunk merge's time in L2 round trips of about
# 1 us (LSEs: 1.0-1.3 us for one round; O: 6.9 us for four batches). Are the partials evicted by
# the streaming K/V before the merge reads them? B = the working tree (the shared-memory merge +
# bench/lab/notes/decode/l2-policy-variants.patch: ELATTN_LAB_DECODE_VARIANT bit 0, K/V cp.async
# with an L2 evict_first policy; bit 1, the partials stored with evict_last). T = B +
# timeline-probe-on-policy-variants.patch. Decode conformance per variant, then steps (--flush
# read) 0 1 2 3 3 2 1 0, and T's merge stamps for variants 0 and 3.
set -u
o=$OUT/c53; mkdir -p $o; f=$o/c53.txt; R=$PWD
left() { echo $((575 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1; git log --oneline -1 >> $o/tree.txt
cfg="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true"
rm -rf /tmp/tsrc && mkdir /tmp/tsrc && git ls-files -z --cached --others --exclude-standard | grep -zv '^.base/' | xargs -0 cp --parents -t /tmp/tsrc 2>/dev/null
(cd /tmp/tsrc && patch -p1 < $R/bench/lab/notes/decode/timeline-probe-on-policy-variants.patch) > $o/patch-T.log 2>&1 || echo "probe patch failed" >> $f
(cd /tmp/tsrc && meson setup build-T $cfg -Dtests=false -Dcuda_args=-DELATTN_DECODE_TIMELINE >/dev/null && ninja -C build-T -j7) > $o/buildT.log 2>&1 &
(meson setup build-B $cfg -Dtests=true >/dev/null && ninja -C build-B -j9) > $o/buildB.log 2>&1
wait; echo "builds $SECONDS s: B $(tail -1 $o/buildB.log | cut -c1-30) / T $(tail -1 $o/buildT.log | cut -c1-30)" >> $f
C=build-B/conformance/elattn-conformance
for v in 1 2 3; do ELATTN_LAB_DECODE_VARIANT=$v timeout $(lim 40) $C --backend cuda:0 --case decode/ > $o/conf-v$v.txt 2>&1; echo "conf decode v$v: $(tail -1 $o/conf-v$v.txt)" >> $f; done
d() { local n=dec-v$1-$2
  ELATTN_LAB_DECODE_VARIANT=$1 timeout $(lim 40) build-B/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch 1,16 --mix dense,fa-ssa:0.75 --max-time 0.3 --flush read > $o/$n.txt 2>&1
  echo "$n: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"Kx"$2" "$3"="$4}' | tr '\n' ' ')" >> $f; }
d 0 1; d 1 1; d 2 1; d 3 1; d 3 2; d 2 2; d 1 2; d 0 2
for v in 0 3; do
  ELATTN_LAB_DECODE_VARIANT=$v ELATTN_LAB_TIMELINE=1 timeout $(lim 30) /tmp/tsrc/build-T/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens 131072 --batch 1 --mix fa-ssa:0.75 --flush read --warmup 1 --min-reps 3 --max-reps 3 --min-time 0 > $o/tl-v$v.txt 2>&1
  python3 bench/lab/notes/decode/timeline.py $o/tl-v$v.txt > $o/tl-v$v.sum 2>&1; echo "== v$v: $(grep -E 'span|end \(t3' $o/tl-v$v.sum | tr -s ' ' | tr '\n' ';')" >> $f
  grep '^TM' $o/tl-v$v.txt | tail -8 | awk '{printf "TM block %d: arrive %.2f fence %.2f lse %.2f max %.2f end %.2f\n", $2, ($4-$3)/1e3, ($5-$3)/1e3, ($6-$3)/1e3, ($7-$3)/1e3, ($8-$3)/1e3}' >> $f
done
nvidia-smi > $o/machine.txt 2>&1
cat $f; cd $OUT && tar czf c53.tgz c53
