#!/usr/bin/env bash
# Call 108 (2026-12-05, thirteenth session, H100): bench/lab/notes/decode/opencl-unroll-measure.sh as run; N = dd2dd6a, .h = d103194. -cl-nv-maxrregcount=N did not fail the build and changed nothing measurable (call 109 tried the spaced form, which failed it).
# The OpenCL tiled decode with its lanes per row a program option (the lane sums and the round's
# pairs unrolled; N, the working tree) against d103194 (H = .h, `git archive d103194` without
# bench/results, carried); N with opencl-build-options.patch.py (V, OpenCL only): NVIDIA's ptxas
# report for the decode programs (-cl-nv-verbose), and V at -cl-nv-maxrregcount 168 and 128. The
# decode group on opencl:1 (N, both families); the decode benchmark, bf16 D 128, 32/8 heads, dense
# and fa-ssa:0.75: cuda:0 and opencl:1 (N, H) at 8K / 32K / 128K x batch 1 / 16, V's register
# caps at 32K / 128K x 1 / 16 dense, N again at 8K / 32K (drift). Run from the repository root
# with `run`, carrying .h.
set -u
o=$OUT/oun; mkdir -p $o; f=$o/oun.txt
left() { echo $((330 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
. shared/tools/nvidia-opencl.sh
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader >> $f 2>&1
ocfg="-Dcuda=disabled -Dhip=disabled -Dopencl=enabled -Dbench=true -Dtests=false"
mkdir -p .v && tar c --exclude='./build*' --exclude=./.v --exclude=./.h --exclude=./bench/results --exclude=./.git . | tar x -C .v
(cd .v && python3 bench/lab/notes/decode/opencl-build-options.patch.py) >> $f 2>&1
for v in h v; do
  (cd .$v && meson setup build-$v $ocfg >/dev/null && ninja -C build-$v -j3 bench/elattn-decode-bench elattn-libs) > $o/build-$v.log 2>&1 &
done
b=build-oun
(meson setup $b -Dcuda=enabled -Dnvcc_arch=sm_90a -Dopencl=enabled -Dhip=disabled -Dbench=true -Dtests=true >/dev/null &&
  ninja -C $b -j10 bench/elattn-decode-bench conformance/elattn-conformance elattn-libs) > $o/build.log 2>&1
wait; echo "builds $SECONDS s: N $(tail -1 $o/build.log | cut -c1-50) / H $(tail -1 $o/build-h.log | cut -c1-50) / V $(tail -1 $o/build-v.log | cut -c1-50)" >> $f
B=$b/bench/elattn-decode-bench V=.v/build-v/bench/elattn-decode-bench
timeout $(lim 45) $b/conformance/elattn-conformance --backend opencl:1 --case decode/ --no-isolate > $o/conf.txt 2>&1
echo "conformance opencl:1 decode/ rc=$?: $(tail -1 $o/conf.txt)" >> $f
grep -E "FAIL|ERROR" $o/conf.txt | head -5 | cut -c1-240 >> $f
for dt in bf16 fp16; do
  ELATTN_LAB_CL_LOG=1 ELATTN_LAB_CL_OPTS=-cl-nv-verbose timeout 30 $V --device opencl:1 --dtype $dt --lens 4096 --batch 1 --mix dense --max-time 0.02 --min-reps 1 > $o/verbose-$dt.txt 2>&1
  echo "ptxas $dt: $(grep -E 'lab build|registers|spill|Function properties|Compiling' $o/verbose-$dt.txt | tr '\n' ' ' | cut -c1-900)" >> $f
done
# d NAME BIN DEVICE TIMEOUT ARGS...: one benchmark process; its table into the summary
d() { local n=$1 bin=$2 dev=$3 t=$4; shift 4; [ "$(left)" -lt 15 ] && { echo "$n: no time left" >> $f; return; }
  timeout $(lim $t) $bin --device $dev --head-dim 128 --dtype bf16 --flush read "$@" > $o/$n.txt 2>&1
  echo "== $n rc=$? ($dev $*)" >> $f; grep -E '^check' $o/$n.txt | cut -c1-150 >> $f
  sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | cut -c1-150 >> $f; grep -E '^copy bandwidth' $o/$n.txt | cut -c1-150 >> $f; }
grid="--lens 8192,32768,131072 --batch 1,16 --mix dense,fa-ssa:0.75 --max-time 0.15"
d n-ocl $B opencl:1 50 $grid
d h-ocl .h/build-h/bench/elattn-decode-bench opencl:1 50 $grid
d cuda $B cuda:0 45 $grid
for r in 168 128; do ELATTN_LAB_CL_OPTS=-cl-nv-maxrregcount=$r d v-r$r $V opencl:1 30 --lens 32768,131072 --batch 1,16 --mix dense --max-time 0.15; done
d n-ocl2 $B opencl:1 30 --lens 8192,32768 --batch 1,16 --mix dense,fa-ssa:0.75 --max-time 0.15
echo "end $SECONDS s" >> $f
cat $f
