#!/usr/bin/env bash
set -u
B=build-hopper; o=$OUT/c3; mkdir -p $o
(meson setup $B -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=true -Dbench=true >/dev/null && ninja -C $B -j16) > $o/build.log 2>&1; tail -1 $o/build.log
timeout 60 $B/conformance/elattn-conformance --backend cuda:0 --case decode/ --no-isolate > $o/conf.txt 2>&1; tail -1 $o/conf.txt
timeout 120 $B/bench/elattn-decode-bench --device cuda:0 --lens 8192,32768,131072 --batch 1,16,64 --mix dense,fa-ssa:0.75 --head-dim 128 --dtype bf16 --budget-s 60 --json $o/ours.json > $o/ours.txt 2>&1; grep -A40 "^results" $o/ours.txt | tail -19 | cut -c1-110
for c in 131072:1 8192:1 131072:16; do len=${c%%:*} b=${c##*:}
timeout 60 ncu --clock-control none --kernel-name regex:chunk_kernel --launch-count 1 --section SpeedOfLight --section WarpStateStats $B/bench/elattn-decode-bench --device cuda:0 --lens $len --batch $b --mix dense --budget-s 5 > $o/ncu_$c.txt 2>&1; echo "ncu $c"; grep -E "Duration|DRAM Throughput|L2 Cache Throughput|Cycles Per Issued" $o/ncu_$c.txt; done
which nsys && timeout 90 nsys profile -o $o/nsys8k --stats=true $B/bench/elattn-decode-bench --device cuda:0 --lens 8192 --batch 1 --mix dense --budget-s 3 > $o/nsys.txt 2>&1; grep -E -A12 "cuda_gpu_kern_sum|cuda_gpu_mem_time_sum" $o/nsys.txt | head -40
cd $OUT && tar czf c3.tgz c3
