#!/usr/bin/env bash
# Call 56 (2026-12-04, second session): issue 14 and issue 12.
# N: the working tree (the merge launch's grid over chunk 0 of the cut heads only: 16 blocks at
#    128K x 1 fa-ssa:0.75 instead of 2096) with bench/lab/notes/decode/merge-threshold-env.patch
#    (ELATTN_LAB_DECODE_MERGE_MAX / _PDL; unset = the tree's 32 and PDL on); A: main (.base/);
#    T: N + timeline-probe-merge-launch.patch built with -DELATTN_DECODE_TIMELINE.
#   1. decode conformance on N (cuda:0, both families; the split family forced), memcheck on decode;
#   2. decode steps at 8K / 32K / 128K x 1 (--flush read): A, N, N with threshold 64 / 256 / PDL off,
#      twice in that order; T's timelines of 128K x 1 fa-ssa:0.75 and 32K x 1 fa-ssa:0.5;
#   3. issue 12's ceiling: D128 bf16 attention 8K / 32K dense and fa-ssa:0.75 on opencl:1
#      (opencl.attn.mma) beside cuda:0's mma.sync family (cuda.attn.mma) and its default (wgmma);
#   4. bench/lab/notes/mma/wgmma_probe.c: does NVIDIA's OpenCL compiler take wgmma?
set -u
o=$OUT/c56; mkdir -p $o; f=$o/c56.txt
left() { echo $((575 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
. shared/tools/nvidia-opencl.sh > $o/ocl-env.log 2>&1
git apply bench/lab/notes/decode/merge-threshold-env.patch >> $f 2>&1
git status --short > $o/tree.txt 2>&1; git log --oneline -1 >> $o/tree.txt
mkdir -p ../tsrc && tar cf - --exclude=./.git --exclude=./.base --exclude=./shared . | tar xf - -C ../tsrc && (cd ../tsrc && patch -p1 -s < bench/lab/notes/decode/timeline-probe-merge-launch.patch) >> $f 2>&1
cfg="-Dcuda=enabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=true"
(cd .base && meson setup ../build-A $cfg -Dopencl=disabled -Dtests=false >/dev/null && ninja -C ../build-A -j4) > $o/buildA.log 2>&1 &
(cd ../tsrc && meson setup build-T $cfg -Dopencl=disabled -Dtests=false -Dcuda_args=-DELATTN_DECODE_TIMELINE >/dev/null && ninja -C build-T -j4) > $o/buildT.log 2>&1 &
(meson setup build-N $cfg -Dopencl=enabled -Dclblast=disabled -Dtests=true >/dev/null && ninja -C build-N -j10) > $o/buildN.log 2>&1
wait; echo "builds $SECONDS s: A $(tail -1 $o/buildA.log | cut -c1-30) / N $(tail -1 $o/buildN.log | cut -c1-30) / T $(tail -1 $o/buildT.log | cut -c1-30)" >> $f
(cc -O2 -o $o/wgmma_probe bench/lab/notes/mma/wgmma_probe.c -lOpenCL && timeout 30 $o/wgmma_probe) > $o/wgmma-probe.txt 2>&1; echo "wgmma probe: $(grep -E '^==|^PTX' $o/wgmma-probe.txt | tr '\n' ' ')" >> $f
C=build-N/conformance/elattn-conformance
cf() { local n=$1; shift; timeout $(lim 60) $C "$@" > $o/conf-$n.txt 2>&1; echo "conf $n: $(tail -1 $o/conf-$n.txt)" >> $f; grep -E "FAIL|ERROR" $o/conf-$n.txt | head -3 | cut -c1-200 >> $f; }
cf decode --backend cuda:0 --case decode/
cf decode-split --backend cuda:0 --case decode/ --kernel cuda.decode.split
timeout $(lim 70) compute-sanitizer --tool memcheck $C --backend cuda:0 --case decode/ --no-isolate > $o/memcheck-decode.txt 2>&1
echo "memcheck decode: $(grep -E 'ERROR SUMMARY' $o/memcheck-decode.txt | tail -1) / $(tail -1 $o/memcheck-decode.txt | cut -c1-60)" >> $f
d() { local n=dec-$1-$2-$3-$4
  ELATTN_LAB_DECODE_MERGE_MAX=$2 ELATTN_LAB_DECODE_MERGE_PDL=$3 timeout $(lim 30) build-$1/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch 1 --mix dense,fa-ssa:0.5,fa-ssa:0.75 --max-time 0.3 --flush read > $o/$n.txt 2>&1
  echo "$n: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"K "$3"="$4}' | tr '\n' ' ')" >> $f; }
for r in 1 2; do d A 32 1 $r; d N 32 1 $r; d N 64 1 $r; d N 256 1 $r; d N 32 0 $r; done
t() { local n=tl-$1-${2/:/}
  ELATTN_LAB_TIMELINE=1 timeout $(lim 25) ../tsrc/build-T/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens $1 --batch 1 --mix $2 --flush read --warmup 1 --min-reps 3 --max-reps 3 --min-time 0 > $o/$n.txt 2>&1
  python3 bench/lab/notes/decode/timeline.py $o/$n.txt > $o/$n.sum 2>&1; echo "== $n" >> $f; cat $o/$n.sum >> $f; }
t 131072 fa-ssa:0.75; t 32768 fa-ssa:0.5
b() { local n=attn-$1-$2; timeout $(lim 60) build-N/bench/elattn-bench --device $1 --kernel $2 --set paper --lens 8192,32768 --mix dense,fa-ssa:0.75 --dtype bf16 --head-dim 128 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05 > $o/$n.txt 2>&1
  echo "$n: $(grep -E '^bf16' $o/$n.txt | awk '{print $2"/"$3"/"$4"="$6}' | tr '\n' ' ') $(grep -E '^bf16' $o/$n.txt | awk '{print $NF}' | sort -u | tr '\n' ' ')" >> $f; }
b cuda:0 cuda.attn; b opencl:1 opencl.attn.mma; b cuda:0 cuda.attn.mma; b cuda:0 cuda.attn
nvidia-smi > $o/machine.txt 2>&1
cat $f; cd $OUT && tar czf c56.tgz c56
