#!/usr/bin/env bash
# Call 92 (2026-12-04, sixth session): why call 91's N2 (the in-block merge staged through shared
# memory) made every in-block batch-1 step 3-4 us slower; batch 16 / 64 unchanged. Hypothesis: cold instruction fetch (the L2 flush evicts the
# kernel's code too; N2's code is laid out differently / larger).
#   1. A and N2: --batch 1 dense and fa-ssa:0.75 at 8K and 32K, with the flush (read) and without
#      it (--flush-mib 1 --lead-tokens 8192: data and code warm in L2), two rounds alternating.
#   2. ncu on 8K x 1 dense's chunk kernel, A and N2: WarpStateStats (stall "no instruction"),
#      SpeedOfLight, with ncu's cache control (all caches flushed before the profiled launch).
# Note added after the call: d() picks the build from ${n:4:2} of the run name ("A-" or "N2"), and
# "A-" matches no case of bin(), so every benchmark line of this call ran N2's binary; the ncu
# lines call bin with A and N2 and are right.
set -u
o=$OUT/c92; mkdir -p $o; f=$o/c92.txt
left() { echo $((585 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
cfg="-Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false"
t="bench/elattn-decode-bench elattn-libs"
for v in base n2; do (cd .$v && meson setup build-c92 $cfg >/dev/null && ninja -C build-c92 -j8 $t) > $o/build-$v.log 2>&1 & done
wait; echo "builds $SECONDS s: $(for v in base n2; do echo -n "$v $(tail -1 $o/build-$v.log | cut -c1-30) / "; done)" >> $f
bin() { case $1 in A) echo .base/build-c92/bench/elattn-decode-bench;; *) echo .n2/build-c92/bench/elattn-decode-bench;; esac; }
d() { local n=dec-$1-$2-$3; shift 3
  timeout $(lim 45) $(bin ${n:4:2}) --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768 --batch 1 --mix dense,fa-ssa:0.75 --max-time 0.3 "$@" > $o/$n.txt 2>&1
  echo "$n: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"Kx"$2" "$3"="$4}' | tr '\n' ' ')" >> $f; }
for r in 1 2; do d A flush $r --flush read; d N2 flush $r --flush read; d A warm $r --flush-mib 1 --lead-tokens 8192; d N2 warm $r --flush-mib 1 --lead-tokens 8192; done
export PATH=$PATH:/usr/local/cuda/bin
for v in A N2; do
  timeout $(lim 90) ncu --kernel-name regex:chunk_kernel --launch-skip 6 --launch-count 1 --section WarpStateStats --section SpeedOfLight --section LaunchStats --section Occupancy \
    $(bin $v) --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192 --batch 1 --mix dense --max-time 0.01 --min-reps 3 --warmup 1 --flush read > $o/ncu-$v.txt 2>&1
  echo "ncu $v: $(grep -E 'Duration|No Instruction|Stall|Registers Per|Warp Cycles Per Issued' $o/ncu-$v.txt | tr -s ' ' | tr '\n' ';' | cut -c1-600)" >> $f
done
(cuobjdump -sass .base/build-c92/backends/gpu/libelattn_cuda_gpu_decode_mma.a.p/*.o > $o/sass-A.txt 2>&1; cuobjdump -sass .n2/build-c92/backends/gpu/libelattn_cuda_gpu_decode_mma.a.p/*.o > $o/sass-N2.txt 2>&1; ls -la .base/build-c92/backends/gpu/ | head -20 > $o/objs.txt)
cd $OUT && tar czf c92.tgz c92 && rm -rf c92/dec-* c92/build* c92/ncu-* c92/sass-* c92/objs.txt
cat $f
