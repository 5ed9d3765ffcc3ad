#!/usr/bin/env bash
# Call 111 (2026-12-05, thirteenth session, H100): bench/lab/notes/decode/opencl-final-measure.sh as run; main at 12206d8.
# The tree as committed (OpenCL decode: the n-way merge, compile-time lanes per row, fp16 by PTX cvt on
# NVIDIA): the decode group on opencl:1 (both OpenCL decode families); the decode benchmark, 32/8
# heads: cuda:0 and opencl:1 side by side, bf16 D 128 at 8K / 32K / 128K x batch 1 / 16, dense and
# fa-ssa:0.75 (opencl:1 with --check); fp16 D 128 and bf16 D 64 at 32K / 128K x 1 / 16 dense. Run
# from the repository root with `run`.
set -u
o=$OUT/ofi; mkdir -p $o; f=$o/ofi.txt
left() { echo $((330 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
. shared/tools/nvidia-opencl.sh
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader >> $f 2>&1
b=build-ofi
(meson setup $b -Dcuda=enabled -Dnvcc_arch=sm_90a -Dopencl=enabled -Dhip=disabled -Dbench=true -Dtests=true >/dev/null &&
  ninja -C $b -j16 bench/elattn-decode-bench conformance/elattn-conformance elattn-libs) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-60)" >> $f
B=$b/bench/elattn-decode-bench
timeout $(lim 50) $b/conformance/elattn-conformance --backend opencl:1 --case decode/ --no-isolate > $o/conf.txt 2>&1
echo "conformance opencl:1 decode/ rc=$?: $(tail -1 $o/conf.txt)" >> $f
grep -E "FAIL|ERROR" $o/conf.txt | head -5 | cut -c1-240 >> $f
# d NAME DEVICE DTYPE D TIMEOUT ARGS...: one benchmark process; its table into the summary
d() { local n=$1 dev=$2 dt=$3 hd=$4 t=$5; shift 5; [ "$(left)" -lt 15 ] && { echo "$n: no time left" >> $f; return; }
  timeout $(lim $t) $B --device $dev --head-dim $hd --dtype $dt --flush read "$@" > $o/$n.txt 2>&1
  echo "== $n rc=$? ($dev $dt D$hd $*)" >> $f; grep -E '^check' $o/$n.txt | cut -c1-150 >> $f
  sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | cut -c1-150 >> $f; grep -E '^copy bandwidth' $o/$n.txt | cut -c1-150 >> $f; }
grid="--lens 8192,32768,131072 --batch 1,16 --mix dense,fa-ssa:0.75 --max-time 0.15"
g="--lens 32768,131072 --batch 1,16 --mix dense --max-time 0.15"
d ocl-bf16 opencl:1 bf16 128 50 $grid --check
d cuda-bf16 cuda:0 bf16 128 45 $grid
d ocl-fp16 opencl:1 fp16 128 30 $g --check
d cuda-fp16 cuda:0 fp16 128 30 $g
d ocl-d64 opencl:1 bf16 64 30 $g --check
d cuda-d64 cuda:0 bf16 64 30 $g
echo "end $SECONDS s" >> $f
cat $f
