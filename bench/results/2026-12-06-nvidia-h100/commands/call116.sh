#!/usr/bin/env bash
# Call 116 (2026-12-06, fifteenth session, H100, warm), run from the repository root with `run`;
# the tree: 895819a. Call 114's mutation, in a fresh copy of the tree built for OpenCL with the
# backend modules (call 114 built the runner alone, so it found no OpenCL device): the FIRST arrival
# merges. The decode group on opencl:1, tiled family, at bounds 32 and 2.
. shared/tools/nvidia-opencl.sh
rm -rf .m; mkdir -p .m && tar c --exclude='./build*' --exclude=./.m --exclude=./bench/results --exclude=./.git . | tar x -C .m &&
  cd .m && sed -i 's/atomic_inc(arrived) == own - 1/atomic_inc(arrived) == 0/' kernels/opencl/decode_tiled.cl &&
  grep -c 'atomic_inc(arrived) == 0' kernels/opencl/decode_tiled.cl &&
  meson setup build-m -Dcuda=disabled -Dhip=disabled -Dopencl=enabled -Dbench=false -Dtests=true >/dev/null &&
  ninja -C build-m -j16 conformance/elattn-conformance elattn-libs 2>&1 | tail -1; cd ..
for bound in 32 2; do
  ELATTN_OPENCL_DECODE_MERGE_CHUNKS=$bound timeout 40 .m/build-m/conformance/elattn-conformance --backend opencl:1 \
    --case decode/ --kernel opencl.decode.tiled --no-isolate > $OUT/mut-$bound.txt 2>&1
  echo "MUTANT first-arrival merges, bound $bound rc=$?: $(tail -1 $OUT/mut-$bound.txt)"
  grep -E " FAIL " $OUT/mut-$bound.txt | head -3 | cut -c1-200
done
