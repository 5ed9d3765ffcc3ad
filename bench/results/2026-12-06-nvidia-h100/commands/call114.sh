#!/usr/bin/env bash
# Call 114 (2026-12-06, fifteenth session), run from the repository root with `run`; the tree: 895819a.
# 1. bench/lab/notes/decode/opencl-fused-merge-measure.sh as committed (the OpenCL tiled decode's
#    fused merge: conformance on opencl:1 at bounds 32 and 2; the decode grid at bound 32 / 0 /
#    cuda:0 / 32). Meanwhile a copy of the tree with a mutation the CPU runtimes cannot catch is
#    built (OpenCL only): the FIRST arrival merges (`== own - 1` -> `== 0`).
# 2. The mutant's decode group on opencl:1 (tiled family) at bounds 32 and 2: must fail.
# 3. Bound 256 (batch 1: every head of the grid merged by its last chunk, no merge launch) against
#    32, same build, alternating; the decode group at bound 256.
# 0. (first, seconds) bench/lab/notes/mma/wgmma_binary_probe.c: wgmma from OpenCL through an
#    edited PTX binary (issue 12).
# 4. Split counts at bound 256: 8K / 32K x 1, --splits 16 and 64 against the policy's (step 3).
set -u
. shared/tools/nvidia-opencl.sh
w=$OUT/probe; mkdir -p $w
(cd $w && cc -O2 -o wgmma_binary_probe $OLDPWD/bench/lab/notes/mma/wgmma_binary_probe.c -lOpenCL && timeout 60 ./wgmma_binary_probe; echo "probe rc=$?") > $w/probe.txt 2>&1
rm -f $w/wgmma_binary_probe; cat $w/probe.txt
m=$OUT/mut; mkdir -p $m
mkdir -p .m && tar c --exclude='./build*' --exclude=./.m --exclude=./bench/results --exclude=./.git . | tar x -C .m
(cd .m && grep -c 'atomic_inc(arrived) == own - 1' kernels/opencl/decode_tiled.cl &&
  sed -i 's/atomic_inc(arrived) == own - 1/atomic_inc(arrived) == 0/' kernels/opencl/decode_tiled.cl &&
  grep -c 'atomic_inc(arrived) == 0' kernels/opencl/decode_tiled.cl &&
  meson setup build-m -Dcuda=disabled -Dhip=disabled -Dopencl=enabled -Dbench=false -Dtests=true >/dev/null &&
  ninja -C build-m -j3 conformance/elattn-conformance) > $m/build.log 2>&1 &
mpid=$!
bash bench/lab/notes/decode/opencl-fused-merge-measure.sh
wait $mpid; echo "mutant build rc=$? at $SECONDS s: $(tail -1 $m/build.log | cut -c1-60)" >> $m/mut.txt
for bound in 32 2; do
  ELATTN_OPENCL_DECODE_MERGE_CHUNKS=$bound timeout 40 .m/build-m/conformance/elattn-conformance --backend opencl:1 \
    --case decode/ --kernel opencl.decode.tiled --no-isolate > $m/conf-$bound.txt 2>&1
  echo "mutant (first arrival merges) decode/ tiled bound $bound rc=$?: $(tail -1 $m/conf-$bound.txt)" >> $m/mut.txt
done
cat $m/mut.txt
o=$OUT/fm; f=$o/fm.txt; B=build-fm/bench/elattn-decode-bench
b1="--device opencl:1 --head-dim 128 --dtype bf16 --flush read --batch 1 --mix dense,fa-ssa:0.75 --max-time 0.15"
run_b() { local n=$1 bound=$2 t=$3; shift 3
  ELATTN_OPENCL_DECODE_MERGE_CHUNKS=$bound timeout $t $B $b1 "$@" > $o/$n.txt 2>&1
  echo "== $n rc=$? (opencl:1 bound $bound $*)" >> $f; sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | cut -c1-150 >> $f; }
for run in 256:b256 32:b32 256:b256-2; do [ $SECONDS -gt 470 ] && break; run_b ${run#*:} ${run%%:*} 30 --lens 8192,32768,131072; done
[ $SECONDS -lt 480 ] && ELATTN_OPENCL_DECODE_MERGE_CHUNKS=256 timeout 45 build-fm/conformance/elattn-conformance --backend opencl:1 --case decode/ --no-isolate > $o/conf-256.txt 2>&1
echo "conformance opencl:1 decode/ bound 256 rc=$?: $(tail -1 $o/conf-256.txt)" >> $f
for s in 16 64; do [ $SECONDS -gt 500 ] && break; run_b b256-splits$s 256 25 --lens 8192,32768 --splits $s; done
echo "end $SECONDS s" >> $f
sed -n '/== b256 /,$p' $f
