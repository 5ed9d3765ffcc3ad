#!/usr/bin/env bash
# Call 110 (2026-12-05, thirteenth session, H100): bench/lab/notes/decode/opencl-fp16-cvt-measure.sh as run; N = 12206d8's kernels without its host change (ELATTN_NV_PTX not passed), .h = dd2dd6a. N's conformance run timed out at 40 s (fp16 at 10x bf16's time), with no failure before.
# The OpenCL tiled decode's fp16 conversion on NVIDIA's driver (which has no cl_khr_fp16): integer
# arithmetic written out per element (N, the working tree) against the same in a loop over a private
# array (H = .h, `git archive dd2dd6a` without bench/results, carried; 560-byte stack frame in call
# 109) and against PTX cvt.f32.f16 (V = N + opencl-build-options.patch.py, built with
# -DELATTN_NV_PTX=1 through ELATTN_LAB_CL_OPTS). ptxas's report (-cl-nv-verbose) for N and V; the
# decode group on opencl:1 for N and V; the decode benchmark, D 128, 32/8 heads, fp16, dense:
# opencl:1 (N, V, H at 32K x 1 only) and cuda:0 at 32K / 128K x batch 1 / 16. Run from the
# repository root with `run`, carrying .h.
set -u
o=$OUT/ocv; mkdir -p $o; f=$o/ocv.txt
left() { echo $((300 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
. shared/tools/nvidia-opencl.sh
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader >> $f 2>&1
ocfg="-Dcuda=disabled -Dhip=disabled -Dopencl=enabled -Dbench=true -Dtests=true"
mkdir -p .v && tar c --exclude='./build*' --exclude=./.v --exclude=./.h --exclude=./bench/results --exclude=./.git . | tar x -C .v
(cd .v && python3 bench/lab/notes/decode/opencl-build-options.patch.py) >> $f 2>&1
(cd .h && meson setup build-h $ocfg >/dev/null && ninja -C build-h -j3 bench/elattn-decode-bench elattn-libs) > $o/build-h.log 2>&1 &
(cd .v && meson setup build-v $ocfg >/dev/null && ninja -C build-v -j4 bench/elattn-decode-bench conformance/elattn-conformance elattn-libs) > $o/build-v.log 2>&1 &
b=build-ocv
(meson setup $b -Dcuda=enabled -Dnvcc_arch=sm_90a -Dopencl=enabled -Dhip=disabled -Dbench=true -Dtests=true >/dev/null &&
  ninja -C $b -j9 bench/elattn-decode-bench conformance/elattn-conformance elattn-libs) > $o/build.log 2>&1
wait; echo "builds $SECONDS s: N $(tail -1 $o/build.log | cut -c1-50) / H $(tail -1 $o/build-h.log | cut -c1-50) / V $(tail -1 $o/build-v.log | cut -c1-50)" >> $f
B=$b/bench/elattn-decode-bench V=.v/build-v/bench/elattn-decode-bench
timeout $(lim 40) $b/conformance/elattn-conformance --backend opencl:1 --case decode/ --no-isolate > $o/conf.txt 2>&1
echo "conformance N opencl:1 decode/ rc=$?: $(tail -1 $o/conf.txt)" >> $f
grep -E "FAIL|ERROR" $o/conf.txt | head -5 | cut -c1-240 >> $f
ELATTN_LAB_CL_OPTS=-DELATTN_NV_PTX=1 timeout $(lim 40) .v/build-v/conformance/elattn-conformance --backend opencl:1 --case decode/ --no-isolate > $o/conf-v.txt 2>&1
echo "conformance V (NV_PTX) opencl:1 decode/ rc=$?: $(tail -1 $o/conf-v.txt)" >> $f
grep -E "FAIL|ERROR" $o/conf-v.txt | head -5 | cut -c1-240 >> $f
for w in "N:" "V:-DELATTN_NV_PTX=1"; do
  ELATTN_LAB_CL_LOG=1 ELATTN_LAB_CL_OPTS="-cl-nv-verbose ${w#*:}" timeout 30 $V --device opencl:1 --dtype fp16 --lens 4096 --batch 1 --mix dense --max-time 0.02 --min-reps 1 > $o/verbose.txt 2>&1
  echo "ptxas fp16 decode ${w%%:*}: $(sed -n "/lab build log of 'decode'/,\$p" $o/verbose.txt | grep -E 'Used|spill' | head -2 | tr -s ' ' | tr '\n' ' ' | cut -c1-300)" >> $f
done
# d NAME BIN DEVICE TIMEOUT ARGS...: one benchmark process (fp16); its table into the summary
d() { local n=$1 bin=$2 dev=$3 t=$4; shift 4; [ "$(left)" -lt 15 ] && { echo "$n: no time left" >> $f; return; }
  timeout $(lim $t) $bin --device $dev --head-dim 128 --dtype fp16 --flush read "$@" > $o/$n.txt 2>&1
  echo "== $n rc=$? ($dev $*)" >> $f
  sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | cut -c1-150 >> $f; grep -E '^copy bandwidth' $o/$n.txt | cut -c1-150 >> $f; }
g="--lens 32768,131072 --batch 1,16 --mix dense --max-time 0.15"
d n-fp16 $B opencl:1 30 $g --check
ELATTN_LAB_CL_OPTS=-DELATTN_NV_PTX=1 d v-fp16 $V opencl:1 30 $g --check
d h-fp16 .h/build-h/bench/elattn-decode-bench opencl:1 20 --lens 32768 --batch 1 --mix dense --max-time 0.1
d cuda-fp16 $B cuda:0 30 $g
d n-fp16b $B opencl:1 30 $g
echo "end $SECONDS s" >> $f
cat $f
