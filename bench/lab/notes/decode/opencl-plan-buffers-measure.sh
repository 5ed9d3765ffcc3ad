#!/usr/bin/env bash
# The OpenCL decode plan keeping its runs' device memory (metadata, partials, Quest's buffers) instead
# of making buffers per run: the decode group on opencl:1 (both OpenCL decode families), then cuda:0
# and opencl:1 (tiled) side by side, bf16 D 128, 32/8 heads, 8K / 32K / 128K x batch 1 / 16, dense
# and fa-ssa:0.75. Run from the repository root with `run`. Short: the session's device time was
# nearly spent.
set -u
o=$OUT/opb; mkdir -p $o; f=$o/opb.txt
left() { echo $((230 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
. shared/tools/nvidia-opencl.sh
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader >> $f 2>&1
b=build-opb
(meson setup $b -Dcuda=enabled -Dnvcc_arch=sm_90a -Dopencl=enabled -Dhip=disabled -Dbench=true -Dtests=true >/dev/null &&
  ninja -C $b -j16 bench/elattn-decode-bench conformance/elattn-conformance elattn-libs) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-60)" >> $f
timeout $(lim 40) $b/conformance/elattn-conformance --backend opencl:1 --case decode/ --no-isolate > $o/conf.txt 2>&1
echo "conformance opencl:1 decode/ rc=$?: $(tail -1 $o/conf.txt)" >> $f
grep -E "FAIL|ERROR" $o/conf.txt | head -5 | cut -c1-240 >> $f
d() { local n=$1 dev=$2 t=$3; shift 3; [ "$(left)" -lt 15 ] && { echo "$n: no time left" >> $f; return; }
  timeout $(lim $t) $b/bench/elattn-decode-bench --device $dev --head-dim 128 --dtype bf16 --flush read "$@" > $o/$n.txt 2>&1
  echo "== $n rc=$? ($dev $*)" >> $f; grep -E '^check' $o/$n.txt | cut -c1-150 >> $f
  sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | cut -c1-150 >> $f; grep -E '^copy bandwidth' $o/$n.txt | cut -c1-150 >> $f; }
grid="--lens 8192,32768,131072 --batch 1,16 --mix dense,fa-ssa:0.75 --max-time 0.15"
d ocl opencl:1 70 $grid --check
d cuda cuda:0 60 $grid
echo "end $SECONDS s" >> $f
rm -f $o/*.txt.tmp; cat $f
