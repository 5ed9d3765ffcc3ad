#!/usr/bin/env bash
# decode kernel A/B in one call: A = committed, B = L2::256B hint, C = one block per SM (192 KB ring)
set -u
B=build-hopper; o=$OUT/ab; mkdir -p $o
(meson setup $B -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=true -Dbench=true >/dev/null && ninja -C $B -j16) > $o/build.log 2>&1; tail -1 $o/build.log
bench() { timeout 120 $B/bench/elattn-decode-bench --device cuda:0 --lens 8192,32768,131072 --batch 1,16,64 --mix dense,fa-ssa:0.75 --head-dim 128 --dtype bf16 --budget-s 60 --json $o/$1.json > $o/$1.txt 2>&1; grep -A40 "^results" $o/$1.txt | tail -19; }
echo "== A"; bench A
timeout 60 ncu --clock-control none --kernel-name regex:chunk_kernel --launch-count 1 --section SpeedOfLight $B/bench/elattn-decode-bench --device cuda:0 --lens 8192 --batch 1 --mix dense --budget-s 5 > $o/ncu_A_8192x1.txt 2>&1; grep -E "Duration|DRAM Throughput" $o/ncu_A_8192x1.txt
cp .ab/B.cuh kernels/gpu/decode_mma.cuh; ninja -C $B -j16 > $o/buildB.log 2>&1; tail -1 $o/buildB.log
echo "== B"; bench B
cp .ab/C.cuh kernels/gpu/decode_mma.cuh; sed -i 's/DECODE_CHUNKS_PER_CU = 2,/DECODE_CHUNKS_PER_CU = 1,/' api/src/decode.c; grep -c "DECODE_CHUNKS_PER_CU = 1," api/src/decode.c; ninja -C $B -j16 > $o/buildC.log 2>&1; tail -1 $o/buildC.log
echo "== C"; bench C
timeout 60 $B/conformance/elattn-conformance --backend cuda:0 --case decode/ --no-isolate 2>&1 | tail -1
cp .ab/A.cuh kernels/gpu/decode_mma.cuh; git checkout api/src/decode.c
cd $OUT && tar czf ab.tgz ab
