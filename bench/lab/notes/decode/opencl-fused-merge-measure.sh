#!/usr/bin/env bash
# Written in the fourteenth session (2026-12-05, no device lent), to run in a later one with `run`
# from the repository root (carrying nothing but shared/tools): the OpenCL tiled decode's fused merge
# (0c14838) on NVIDIA's driver. One build; the bound from the environment: the default (32: heads
# of up to 32 chunks merged by the partial pass) against ELATTN_OPENCL_DECODE_MERGE_CHUNKS=0 (every
# head by the merge launch, as before) and cuda:0, in the same call: the decode group on opencl:1 at
# the default bound and at 2 (heads merged both ways in a step); the decode benchmark, 32/8 heads,
# bf16 D 128 at 8K / 32K / 128K x batch 1 / 16, dense and fa-ssa:0.75. Summary in $OUT/fm/fm.txt.
# Run as call 114 (bench/results/2026-12-06-nvidia-h100): the fused merge kept, its bound raised to 256.
set -u
o=$OUT/fm; mkdir -p $o; f=$o/fm.txt
left() { echo $((300 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
. shared/tools/nvidia-opencl.sh
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader >> $f 2>&1
b=build-fm
(meson setup $b -Dcuda=enabled -Dnvcc_arch=sm_90a -Dopencl=enabled -Dhip=disabled -Dbench=true -Dtests=true >/dev/null &&
  ninja -C $b -j14 bench/elattn-decode-bench conformance/elattn-conformance elattn-libs) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-60)" >> $f
C=$b/conformance/elattn-conformance B=$b/bench/elattn-decode-bench
for bound in 32 2; do
  ELATTN_OPENCL_DECODE_MERGE_CHUNKS=$bound timeout $(lim 45) $C --backend opencl:1 --case decode/ --no-isolate > $o/conf-$bound.txt 2>&1
  echo "conformance opencl:1 decode/ bound $bound rc=$?: $(tail -1 $o/conf-$bound.txt)" >> $f
  grep -E "FAIL|ERROR" $o/conf-$bound.txt | head -5 | cut -c1-240 >> $f
done
# d NAME DEVICE BOUND TIMEOUT ARGS...: one benchmark process; its table into the summary
d() { local n=$1 dev=$2 bound=$3 t=$4; shift 4; [ "$(left)" -lt 15 ] && { echo "$n: no time left" >> $f; return; }
  ELATTN_OPENCL_DECODE_MERGE_CHUNKS=$bound timeout $(lim $t) $B --device $dev --head-dim 128 --dtype bf16 --flush read "$@" > $o/$n.txt 2>&1
  echo "== $n rc=$? ($dev bound $bound $*)" >> $f; grep -E '^check' $o/$n.txt | cut -c1-150 >> $f
  sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | cut -c1-150 >> $f; }
grid="--lens 8192,32768,131072 --batch 1,16 --mix dense,fa-ssa:0.75 --max-time 0.15"
d fused opencl:1 32 50 $grid --check
d launch opencl:1 0 40 $grid
d cuda cuda:0 32 40 $grid
d fused-2 opencl:1 32 40 $grid
echo "end $SECONDS s" >> $f
cat $f
