#!/usr/bin/env bash
# Call 103 (2026-12-05, eleventh session): the decode benchmark's copy-bandwidth measurement
# (elattn_buffer_copy_2d: clEnqueueCopyBufferRect of 64 MiB rows) on opencl:1 at 64 and 512 MiB,
# 25 s each (call 102: at the default 2048 MiB it had not finished after 80 s).
# (Call 104: MIBS="1024 2048" TMO=20, the same script.)
set -u; o=$OUT/ocp; mkdir -p $o; f=$o/ocp.txt
. shared/tools/nvidia-opencl.sh
(meson setup build-ocl -Dcuda=disabled -Dhip=disabled -Dopencl=enabled -Dbench=true -Dtests=false >/dev/null; ninja -C build-ocl -j16 bench/elattn-decode-bench elattn-libs) > $o/build.log 2>&1
echo "build $SECONDS s" >> $f
for m in ${MIBS:-64 512}; do s0=$SECONDS
  timeout ${TMO:-25} build-ocl/bench/elattn-decode-bench --device opencl:1 --head-dim 128 --dtype bf16 --lens 4096 --batch 1 --mix dense --max-time 0.1 --lead-tokens 0 --copy-mib $m > $o/c$m.txt 2>&1
  echo "copy-mib $m rc=$? $((SECONDS - s0)) s: $(grep -E '^copy bandwidth' $o/c$m.txt | cut -c1-160)" >> $f; done
cat $f
