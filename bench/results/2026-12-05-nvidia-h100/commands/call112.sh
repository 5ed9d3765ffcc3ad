#!/usr/bin/env bash
# Call 112 (2026-12-05, thirteenth session, H100): bench/lab/notes/decode/opencl-shuffle-measure.sh as run; N = 18861a8 (the working tree), .h = 277772b.
# The OpenCL tiled decode's lane sums by warp shuffles on NVIDIA (N, the working tree) against the
# local-memory sums (H = .h, `git archive 277772b` without bench/results, carried; the merge over each
# head's own chunks is in both): the decode group on opencl:1 (N); ptxas's report for N's decode
# program (bf16, through opencl-build-options.patch.py applied to a copy, V); the decode benchmark,
# 32/8 heads: cuda:0, opencl:1 N and H, bf16 D 128 at 8K / 32K / 128K x batch 1 / 16, dense and
# fa-ssa:0.75; fp16 D 128 and bf16 D 64 at 32K / 128K x 1 / 16 dense (N, cuda:0). Run from the
# repository root with `run`, carrying .h.
set -u
o=$OUT/osh; mkdir -p $o; f=$o/osh.txt
left() { echo $((300 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
. shared/tools/nvidia-opencl.sh
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader >> $f 2>&1
ocfg="-Dcuda=disabled -Dhip=disabled -Dopencl=enabled -Dbench=true -Dtests=false"
mkdir -p .v && tar c --exclude='./build*' --exclude=./.v --exclude=./.h --exclude=./bench/results --exclude=./.git . | tar x -C .v
(cd .v && python3 bench/lab/notes/decode/opencl-build-options.patch.py) >> $f 2>&1
for v in h v; do
  (cd .$v && meson setup build-$v $ocfg >/dev/null && ninja -C build-$v -j3 bench/elattn-decode-bench elattn-libs) > $o/build-$v.log 2>&1 &
done
b=build-osh
(meson setup $b -Dcuda=enabled -Dnvcc_arch=sm_90a -Dopencl=enabled -Dhip=disabled -Dbench=true -Dtests=true >/dev/null &&
  ninja -C $b -j10 bench/elattn-decode-bench conformance/elattn-conformance elattn-libs) > $o/build.log 2>&1
wait; echo "builds $SECONDS s: N $(tail -1 $o/build.log | cut -c1-50) / H $(tail -1 $o/build-h.log | cut -c1-50) / V $(tail -1 $o/build-v.log | cut -c1-50)" >> $f
B=$b/bench/elattn-decode-bench H=.h/build-h/bench/elattn-decode-bench
timeout $(lim 45) $b/conformance/elattn-conformance --backend opencl:1 --case decode/ --no-isolate > $o/conf.txt 2>&1
echo "conformance opencl:1 decode/ rc=$?: $(tail -1 $o/conf.txt)" >> $f
grep -E "FAIL|ERROR" $o/conf.txt | head -5 | cut -c1-240 >> $f
for dt in bf16 fp16; do
  ELATTN_LAB_CL_LOG=1 ELATTN_LAB_CL_OPTS=-cl-nv-verbose timeout 30 .v/build-v/bench/elattn-decode-bench --device opencl:1 --dtype $dt --lens 4096 --batch 1 --mix dense --max-time 0.02 --min-reps 1 > $o/verbose.txt 2>&1
  echo "ptxas $dt decode_tiled: $(sed -n "/lab build log of 'decode'/,\$p" $o/verbose.txt | grep -E 'Used|spill' | head -2 | tr -s ' ' | tr '\n' ' ' | cut -c1-300)" >> $f
done
# d NAME BIN DEVICE DTYPE D TIMEOUT ARGS...: one benchmark process; its table into the summary
d() { local n=$1 bin=$2 dev=$3 dt=$4 hd=$5 t=$6; shift 6; [ "$(left)" -lt 15 ] && { echo "$n: no time left" >> $f; return; }
  timeout $(lim $t) $bin --device $dev --head-dim $hd --dtype $dt --flush read "$@" > $o/$n.txt 2>&1
  echo "== $n rc=$? ($dev $dt D$hd $*)" >> $f; grep -E '^check' $o/$n.txt | cut -c1-150 >> $f
  sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | cut -c1-150 >> $f; grep -E '^copy bandwidth' $o/$n.txt | cut -c1-150 >> $f; }
grid="--lens 8192,32768,131072 --batch 1,16 --mix dense,fa-ssa:0.75 --max-time 0.15"
g="--lens 32768,131072 --batch 1,16 --mix dense --max-time 0.15"
d n-bf16 $B opencl:1 bf16 128 50 $grid --check
d h-bf16 $H opencl:1 bf16 128 40 $grid
d cuda-bf16 $B cuda:0 bf16 128 40 $grid
d n-fp16 $B opencl:1 fp16 128 25 $g --check
d n-d64 $B opencl:1 bf16 64 25 $g --check
d h-d64 $H opencl:1 bf16 64 20 $g
d cuda-d64 $B cuda:0 bf16 64 20 $g
echo "end $SECONDS s" >> $f
cat $f
