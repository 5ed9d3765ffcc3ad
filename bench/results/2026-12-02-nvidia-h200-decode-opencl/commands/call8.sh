#!/usr/bin/env bash
# decode metadata: uploaded (A) vs read from the pinned slot by the kernel (B, ELATTN_DECODE_ZERO_COPY=1)
set -u
B=build-hopper; o=$OUT/s8; mkdir -p $o
t0=$SECONDS; (meson setup $B -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=true -Dbench=true >/dev/null && ninja -C $B -j16) > $o/build.log 2>&1; echo "build $((SECONDS-t0)) s: $(tail -1 $o/build.log)"
db="$B/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --copy-mib 64 --lens 8192,32768,131072 --batch 1,16 --mix dense,fa-ssa:0.75 --max-time 0.5"
i=0; for v in A B A B; do i=$((i+1)); z=0; [ $v = B ] && z=1; ELATTN_DECODE_ZERO_COPY=$z timeout 40 $db > $o/$v$i.txt 2>&1; echo "== $v$i"; grep -A20 "^results" $o/$v$i.txt | tail -12 | cut -c1-62; done
ELATTN_DECODE_ZERO_COPY=1 timeout 40 $B/conformance/elattn-conformance --backend cuda:0 --case decode/ --no-isolate 2>&1 | tail -1
cd $OUT && tar czf s8.tgz s8
