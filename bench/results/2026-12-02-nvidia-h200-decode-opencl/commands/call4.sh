#!/usr/bin/env bash
set -u
B=build-hopper; o=$OUT/c4; mkdir -p $o
(meson setup $B -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=false -Dbench=true >/dev/null && ninja -C $B -j16) > $o/build.log 2>&1; tail -1 $o/build.log
db=$B/bench/elattn-decode-bench
run() { tag=$1; shift; timeout 60 $db --device cuda:0 --head-dim 128 --dtype bf16 --copy-mib 64 "$@" > $o/$tag.txt 2>&1; echo "== $tag $*"; grep -E "^ +[0-9]+ +[0-9]+ " $o/$tag.txt | head -3 | cut -c1-100; }
for sp in 0 33 66 132; do run b1_128k_s$sp --lens 131072 --batch 1 --mix dense --splits $sp; done
for sp in 0 32 64 128; do run b1_32k_s$sp --lens 32768 --batch 1 --mix dense --splits $sp; done
for sp in 0 16 64; do run b1_8k_s$sp --lens 8192 --batch 1 --mix dense --splits $sp; done
run ssa_samples --lens 131072 --batch 1 --mix fa-ssa:0.75,fa-ssa:0.5 --samples
grep samples $o/ssa_samples.txt | cut -c1-900
run nof --lens 131072 --batch 1 --mix dense --flush-mib 0
cuobjdump -sass $B/api/src/libelattn-cuda.so 2>/dev/null | awk '/Function : .*chunk_kernel.*bfloat16Li2ELi128/{f=1;print;next} f&&/Function :/{f=0} f' > $o/sass_d128.txt; wc -l $o/sass_d128.txt
cd $OUT && tar czf c4.tgz c4
