#!/usr/bin/env bash
# Call 105 (2026-12-05, twelfth session, H100): the lab script bench/lab/notes/decode/opencl-tiled-measure.sh as
# run: main at e587e7b with left() at 360 s; .p = 41978bb~1 (git archive, carried).
# OpenCL decode on NVIDIA's driver: the tiled family (kernels/opencl/decode_tiled.cl) beside the
# scalar one and beside cuda:0, in one device call. Run from the repository root with `run` (carry
# nothing): builds the working tree with CUDA and OpenCL (N) and, OpenCL only, a copy with four keys
# per lane group per round for 16-bit dtypes (V4; N has eight); the decode group of the conformance
# suite on opencl:1 with every OpenCL decode family; then the decode benchmark, bf16 D 128, 32/8 heads:
# cuda:0 and opencl:1 (tiled) at 8K / 32K / 128K x batch 1 / 16, dense and fa-ssa:0.75; V4 at 32K and
# 128K dense; opencl:1 scalar at 32K x 1. Then Quest's select with shuffle scans (N) against the
# shared-memory scans (P = .p, carried: `git archive <the commit before> | tar -x -C .p`): the Quest
# cases on cuda:0, and P N P N at 32K x 1 / 4, fa-xa:0.5 and fa-xa:1, page budget 64.
set -u
o=$OUT/ocd; mkdir -p $o; f=$o/ocd.txt
left() { echo $((360 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
. shared/tools/nvidia-opencl.sh
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader >> $f 2>&1
mkdir -p .v4 && tar c --exclude='./build*' --exclude=./.v4 --exclude=./.p --exclude=./bench/results --exclude=./.git . | tar x -C .v4
sed -i 's/^#define TILED_KPG 8$/#define TILED_KPG 4/' .v4/kernels/opencl/decode_tiled.cl
echo "V4: $(grep -c '^#define TILED_KPG 4$' .v4/kernels/opencl/decode_tiled.cl) line(s) changed" >> $f
(cd .v4 && meson setup build-v4 -Dcuda=disabled -Dhip=disabled -Dopencl=enabled -Dbench=true -Dtests=false >/dev/null &&
  ninja -C build-v4 -j4 bench/elattn-decode-bench elattn-libs) > $o/build-v4.log 2>&1 &
cfg="-Dcuda=enabled -Dnvcc_arch=sm_90a -Dhip=disabled -Dopencl=disabled -Dbench=true -Dtests=false"
(cd .p && meson setup build-qp $cfg >/dev/null && ninja -C build-qp -j4 bench/elattn-decode-bench elattn-libs) > $o/build-p.log 2>&1 &
b=build-oc
(meson setup $b -Dcuda=enabled -Dnvcc_arch=sm_90a -Dopencl=enabled -Dhip=disabled -Dbench=true -Dtests=true >/dev/null &&
  ninja -C $b -j12 bench/elattn-decode-bench conformance/elattn-conformance elattn-libs) > $o/build.log 2>&1
wait; echo "builds $SECONDS s: N $(tail -1 $o/build.log | cut -c1-60) / V4 $(tail -1 $o/build-v4.log | cut -c1-60) / P $(tail -1 $o/build-p.log | cut -c1-60)" >> $f
B=$b/bench/elattn-decode-bench
$B --list >> $f 2>&1
timeout $(lim 60) $b/conformance/elattn-conformance --backend opencl:1 --case decode/ > $o/conf.txt 2>&1
echo "conformance opencl:1 decode/ rc=$?: $(tail -1 $o/conf.txt)" >> $f
grep -E "FAIL|ERROR" $o/conf.txt | head -5 | cut -c1-240 >> $f
# d NAME BIN DEVICE TIMEOUT ARGS...: one benchmark process; its table into the summary
d() { local n=$1 bin=$2 dev=$3 t=$4; shift 4; [ "$(left)" -lt 20 ] && { echo "$n: no time left" >> $f; return; }
  timeout $(lim $t) $bin --device $dev --head-dim 128 --dtype bf16 --flush read "$@" --json $o/$n.json > $o/$n.txt 2>&1
  echo "== $n rc=$? ($dev $*)" >> $f; sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]|^copy' | cut -c1-150 >> $f
  grep -E '^copy bandwidth' $o/$n.txt | cut -c1-150 >> $f; }
grid="--lens 8192,32768,131072 --batch 1,16 --mix dense,fa-ssa:0.75 --max-time 0.15"
d cuda $B cuda:0 80 $grid
d ocl-tiled $B opencl:1 110 $grid --check
timeout $(lim 40) $b/conformance/elattn-conformance --backend cuda:0 --case decode/quest > $o/conf-quest.txt 2>&1
echo "conformance cuda:0 decode/quest rc=$?: $(tail -1 $o/conf-quest.txt)" >> $f
grep -E "FAIL|ERROR" $o/conf-quest.txt | head -5 | cut -c1-240 >> $f
q="--lens 32768 --batch 1,4 --mix dense,fa-xa:0.5,fa-xa:1 --page-budget 64 --max-time 0.15"
d quest-P1 .p/build-qp/bench/elattn-decode-bench cuda:0 30 $q; d quest-N1 $B cuda:0 30 $q
d ocl-scalar $B opencl:1 40 --kernel opencl.decode.scalar --lens 32768 --batch 1 --mix dense,fa-ssa:0.75 --max-time 0.1 --min-reps 3
d ocl-v4 .v4/build-v4/bench/elattn-decode-bench opencl:1 50 --lens 32768,131072 --batch 1,16 --mix dense --max-time 0.15
d quest-P2 .p/build-qp/bench/elattn-decode-bench cuda:0 30 $q; d quest-N2 $B cuda:0 30 $q
echo "end $SECONDS s" >> $f
cat $f
