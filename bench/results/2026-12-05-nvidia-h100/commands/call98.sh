#!/usr/bin/env bash
# Written 2026-12-05 (tenth session), NOT RUN: the device was paused for that whole session.
# The random draws (conformance/random_cases.c) on the GPU families CI cannot run: cuda:0's wgmma
# families (sm_90a, not emulated on the CPU), every other cuda:0 family on real hardware, hip:0
# through the HIP-to-CUDA layer, and NVIDIA's OpenCL driver (opencl:1, the mma and mma_async
# families, also at drawn tile shapes). Run from the repository root with `run` (shared/tools
# travels with the tree); no carry.
# A failure: rerun the draw alone (`--random N --seed S --case random/S:I/`), then under
# compute-sanitizer, and add its shape to the matrix (cases.c) with the fix.
set -u
o=$OUT/rnd; mkdir -p $o; f=$o/rnd.txt
left() { echo $((560 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1
. shared/tools/nvidia-opencl.sh
(meson setup build-rnd -Dcuda=enabled -Dnvcc_arch=sm_90a -Dopencl=enabled -Dhip=enabled -Dhip_platform=nvidia \
   -Dbench=false >/dev/null && ninja -C build-rnd -j14 conformance/elattn-conformance elattn-libs) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-60)" >> $f
c=build-rnd/conformance/elattn-conformance
r() { local n=$1 t=$2; shift 2; timeout $(lim $t) $c "$@" > $o/$n.txt 2>&1
  echo "$n rc=$? $SECONDS s: $(tail -1 $o/$n.txt)" >> $f; grep -E " FAIL " $o/$n.txt | head -8 | cut -c1-260 >> $f; }
# seeds nobody has run (CI's is 20261205); cuda:0 gets the most: its wgmma families run nowhere else
r cuda 240 --backend cuda:0 --random 300 --seed 1205001
r hip 100 --backend hip:0 --random 100 --seed 1205002
r opencl1 120 --backend opencl:1 --random 100 --seed 1205003 --no-isolate
r opencl1-tiles 100 --backend opencl:1 --random 60 --seed 1205004 --random-tiles --no-isolate
[ "$(left)" -gt 90 ] && timeout $(lim 80) compute-sanitizer --tool memcheck $c --backend cuda:0 --random 20 --seed 1205001 --no-isolate > $o/memcheck.txt 2>&1 &&
  echo "memcheck: $(grep -E 'ERROR SUMMARY' $o/memcheck.txt | tail -1) / $(tail -1 $o/memcheck.txt | cut -c1-80)" >> $f
echo "end $SECONDS s" >> $f
cat $f
