#!/usr/bin/env bash
# Call 107 (2026-12-05, thirteenth session, H100): bench/lab/notes/decode/opencl-merge-measure.sh as run; N = d103194 (the working tree), .h = 3ecae21, .p = e587e7b (git archive, carried).
# The OpenCL decode merge as one work-group per (row, query head) with the n-way merge (N, the working
# tree) against the per-value fold in chunk order (H = .h, `git archive 3ecae21`), and the plan
# without kept buffers (P = .p, `git archive e587e7b`, the tree of call 105), both carried without
# bench/results: the decode group on opencl:1 (N, both OpenCL decode families); then the decode
# benchmark, bf16 D 128, 32/8 heads, dense and fa-ssa:0.75: cuda:0 and opencl:1 (N, H) at
# 8K / 32K / 128K x batch 1 / 16; N with every head cut into 4, 16, 64 chunks at 8K and 32K x 1
# dense; P at 8K / 32K; then N again (drift). Run from the repository
# root with `run`, carrying .p and .h.
set -u
o=$OUT/omg; mkdir -p $o; f=$o/omg.txt
left() { echo $((380 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
. shared/tools/nvidia-opencl.sh
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader >> $f 2>&1
ocfg="-Dcuda=disabled -Dhip=disabled -Dopencl=enabled -Dbench=true -Dtests=false"
for v in p h; do
  (cd .$v && meson setup build-$v $ocfg >/dev/null && ninja -C build-$v -j3 bench/elattn-decode-bench elattn-libs) > $o/build-$v.log 2>&1 &
done
b=build-omg
(meson setup $b -Dcuda=enabled -Dnvcc_arch=sm_90a -Dopencl=enabled -Dhip=disabled -Dbench=true -Dtests=true >/dev/null &&
  ninja -C $b -j10 bench/elattn-decode-bench conformance/elattn-conformance elattn-libs) > $o/build.log 2>&1
wait; echo "builds $SECONDS s: N $(tail -1 $o/build.log | cut -c1-50) / H $(tail -1 $o/build-h.log | cut -c1-50) / P $(tail -1 $o/build-p.log | cut -c1-50)" >> $f
B=$b/bench/elattn-decode-bench
timeout $(lim 45) $b/conformance/elattn-conformance --backend opencl:1 --case decode/ --no-isolate > $o/conf.txt 2>&1
echo "conformance opencl:1 decode/ rc=$?: $(tail -1 $o/conf.txt)" >> $f
grep -E "FAIL|ERROR" $o/conf.txt | head -5 | cut -c1-240 >> $f
# d NAME BIN DEVICE TIMEOUT ARGS...: one benchmark process; its table into the summary
d() { local n=$1 bin=$2 dev=$3 t=$4; shift 4; [ "$(left)" -lt 15 ] && { echo "$n: no time left" >> $f; return; }
  timeout $(lim $t) $bin --device $dev --head-dim 128 --dtype bf16 --flush read "$@" > $o/$n.txt 2>&1
  echo "== $n rc=$? ($dev $*)" >> $f; grep -E '^check' $o/$n.txt | cut -c1-150 >> $f
  sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | cut -c1-150 >> $f; grep -E '^copy bandwidth' $o/$n.txt | cut -c1-150 >> $f; }
grid="--lens 8192,32768,131072 --batch 1,16 --mix dense,fa-ssa:0.75 --max-time 0.15"
short="--lens 8192,32768 --batch 1,16 --mix dense,fa-ssa:0.75 --max-time 0.15"
d n-ocl $B opencl:1 50 $grid
d h-ocl .h/build-h/bench/elattn-decode-bench opencl:1 50 $grid
d cuda $B cuda:0 45 $grid
for sp in 4 16 64; do d n-split$sp $B opencl:1 20 --lens 8192,32768 --batch 1 --mix dense --splits $sp --max-time 0.1; done
d p-ocl .p/build-p/bench/elattn-decode-bench opencl:1 30 $short
d n-ocl2 $B opencl:1 30 $short
echo "end $SECONDS s" >> $f
cat $f
