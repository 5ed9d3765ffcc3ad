#!/usr/bin/env bash
# Call 57 (2026-12-04, second session): issue 14, the decode shortcut for STREAMING heads.
# N: the working tree (call 56's N, plus elattn_decode_seen_of / elattn_decode_all_visible over a
#    slot range: a STREAMING head's sinks and most of its ring skip the per-pair test, which cost a
#    64-bit division per slot; both CUDA chunk kernels) with merge-threshold-env.patch applied;
# A: main (.base/).
#   1. N's decode conformance: cuda:0 (both families), the split family forced, hip:0 (HIP through
#      the HIP-to-CUDA layer: the portable kernel), memcheck on the decode group;
#   2. decode steps (--flush read) at 8K / 32K / 128K x 1 and x 16: A, N (threshold 32), N (64),
#      twice in that order;
#   3. T: N + the timeline probe: 32K x 1 fa-ssa:0.5 and 128K x 1 fa-ssa:0.75.
set -u
o=$OUT/c57; mkdir -p $o; f=$o/c57.txt
left() { echo $((575 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git apply bench/lab/notes/decode/merge-threshold-env.patch >> $f 2>&1
git status --short > $o/tree.txt 2>&1; git log --oneline -1 >> $o/tree.txt
mkdir -p ../tsrc && tar cf - --exclude=./.git --exclude=./.base --exclude=./shared . | tar xf - -C ../tsrc && (cd ../tsrc && patch -p1 -s < bench/lab/notes/decode/timeline-probe-merge-launch.patch) >> $f 2>&1
cfg="-Dcuda=enabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true"
(cd .base && meson setup ../build-A $cfg -Dhip=disabled -Dtests=false >/dev/null && ninja -C ../build-A -j4) > $o/buildA.log 2>&1 &
(cd ../tsrc && meson setup build-T $cfg -Dhip=disabled -Dtests=false -Dcuda_args=-DELATTN_DECODE_TIMELINE >/dev/null && ninja -C build-T -j4) > $o/buildT.log 2>&1 &
(meson setup build-N $cfg -Dhip=enabled -Dhip_platform=nvidia -Dtests=true >/dev/null && ninja -C build-N -j10) > $o/buildN.log 2>&1
wait; echo "builds $SECONDS s: A $(tail -1 $o/buildA.log | cut -c1-30) / N $(tail -1 $o/buildN.log | cut -c1-30) / T $(tail -1 $o/buildT.log | cut -c1-30)" >> $f
C=build-N/conformance/elattn-conformance
cf() { local n=$1; shift; timeout $(lim 60) $C "$@" > $o/conf-$n.txt 2>&1; echo "conf $n: $(tail -1 $o/conf-$n.txt)" >> $f; grep -E "FAIL|ERROR" $o/conf-$n.txt | head -3 | cut -c1-200 >> $f; }
cf decode --backend cuda:0 --case decode/
cf decode-split --backend cuda:0 --case decode/ --kernel cuda.decode.split
cf decode-hip --backend hip:0 --case decode/
timeout $(lim 70) compute-sanitizer --tool memcheck $C --backend cuda:0 --case decode/ --no-isolate > $o/memcheck-decode.txt 2>&1
echo "memcheck decode: $(grep -E 'ERROR SUMMARY' $o/memcheck-decode.txt | tail -1) / $(tail -1 $o/memcheck-decode.txt | cut -c1-60)" >> $f
d() { local n=dec-$1-$2-$3
  ELATTN_LAB_DECODE_MERGE_MAX=$2 timeout $(lim 40) build-$1/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch 1,16 --mix dense,fa-ssa:0.5,fa-ssa:0.75 --max-time 0.3 --flush read > $o/$n.txt 2>&1
  echo "$n: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"Kx"$2" "$3"="$4}' | tr '\n' ' ')" >> $f; }
for r in 1 2; do d A 32 $r; d N 32 $r; d N 64 $r; done
t() { local n=tl-$1-${2/:/}
  ELATTN_LAB_TIMELINE=1 timeout $(lim 25) ../tsrc/build-T/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens $1 --batch 1 --mix $2 --flush read --warmup 1 --min-reps 3 --max-reps 3 --min-time 0 > $o/$n.txt 2>&1
  python3 bench/lab/notes/decode/timeline.py $o/$n.txt > $o/$n.sum 2>&1; echo "== $n" >> $f; head -14 $o/$n.sum >> $f; }
t 32768 fa-ssa:0.5; t 131072 fa-ssa:0.75
nvidia-smi > $o/machine.txt 2>&1
cat $f; cd $OUT && tar czf c57.tgz c57
