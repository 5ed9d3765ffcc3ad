#!/usr/bin/env bash
# Call 109 (2026-12-05, thirteenth session, H100): bench/lab/notes/decode/opencl-fp16-measure.sh as run; N = dd2dd6a + fp16 by convert_float2(as_half2) (a path NVIDIA's driver does not take: it has no cl_khr_fp16), .h = dd2dd6a.
# The OpenCL tiled decode's fp16 rows converted a word (half2) at a time (N, the working tree) against
# half8 at once (H = .h, `git archive dd2dd6a` without bench/results, carried); N with
# opencl-build-options.patch.py (V, OpenCL only): ptxas's register and spill report for the decode
# programs (-cl-nv-verbose), bf16 and fp16, and V with `-cl-nv-maxrregcount 168` (bf16). The decode
# group on opencl:1 (N); the decode benchmark, D 128, 32/8 heads, dense: fp16 on opencl:1 (N, H) and
# cuda:0 at 32K / 128K x batch 1 / 16, and V's register cap (bf16) beside N (bf16). Run from the
# repository root with `run`, carrying .h.
set -u
o=$OUT/ofp; mkdir -p $o; f=$o/ofp.txt
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
b=build-ofp
(meson setup $b -Dcuda=enabled -Dnvcc_arch=sm_90a -Dopencl=enabled -Dhip=disabled -Dbench=true -Dtests=true >/dev/null &&
  ninja -C $b -j10 bench/elattn-decode-bench conformance/elattn-conformance elattn-libs) > $o/build.log 2>&1
wait; echo "builds $SECONDS s: N $(tail -1 $o/build.log | cut -c1-50) / H $(tail -1 $o/build-h.log | cut -c1-50) / V $(tail -1 $o/build-v.log | cut -c1-50)" >> $f
B=$b/bench/elattn-decode-bench V=.v/build-v/bench/elattn-decode-bench
timeout $(lim 45) $b/conformance/elattn-conformance --backend opencl:1 --case decode/ --no-isolate > $o/conf.txt 2>&1
echo "conformance opencl:1 decode/ rc=$?: $(tail -1 $o/conf.txt)" >> $f
grep -E "FAIL|ERROR" $o/conf.txt | head -5 | cut -c1-240 >> $f
for dt in bf16 fp16; do
  ELATTN_LAB_CL_LOG=1 ELATTN_LAB_CL_OPTS=-cl-nv-verbose timeout 30 $V --device opencl:1 --dtype $dt --lens 4096 --batch 1 --mix dense --max-time 0.02 --min-reps 1 > $o/verbose-$dt.txt 2>&1
  echo "ptxas $dt decode: $(sed -n "/lab build log of 'decode'/,\$p" $o/verbose-$dt.txt | grep -E 'Used|spill' | tr -s ' ' | tr '\n' ' ' | cut -c1-400)" >> $f
done
# d NAME BIN DEVICE DTYPE TIMEOUT ARGS...: one benchmark process; its table into the summary
d() { local n=$1 bin=$2 dev=$3 dt=$4 t=$5; shift 5; [ "$(left)" -lt 15 ] && { echo "$n: no time left" >> $f; return; }
  timeout $(lim $t) $bin --device $dev --head-dim 128 --dtype $dt --flush read "$@" > $o/$n.txt 2>&1
  echo "== $n rc=$? ($dev $dt $*)" >> $f
  sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | cut -c1-150 >> $f; grep -E '^copy bandwidth' $o/$n.txt | cut -c1-150 >> $f; }
g="--lens 32768,131072 --batch 1,16 --mix dense --max-time 0.15"
d n-fp16 $B opencl:1 fp16 30 $g --check
d h-fp16 .h/build-h/bench/elattn-decode-bench opencl:1 fp16 30 $g
d cuda-fp16 $B cuda:0 fp16 30 $g
ELATTN_LAB_CL_OPTS="-cl-nv-maxrregcount 168" d v-r168 $V opencl:1 bf16 30 $g
d n-bf16 $B opencl:1 bf16 30 $g
echo "end $SECONDS s" >> $f
cat $f
