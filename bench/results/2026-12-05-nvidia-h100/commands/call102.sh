#!/usr/bin/env bash
# Call 102 (2026-12-05, eleventh session): why elattn-decode-bench on opencl:1 (NVIDIA's OpenCL) wrote
# nothing in call 97 (call 100: it stopped in the copy-bandwidth measurement, killed at 60 s): the
# benchmark without that measurement and without the lead, then with the measurement; time stamps per line.
set -u; o=$OUT/ocl; mkdir -p $o; f=$o/ocl.txt
. shared/tools/nvidia-opencl.sh
(meson setup build-ocl -Dcuda=disabled -Dhip=disabled -Dopencl=enabled -Dbench=true -Dtests=false >/dev/null && ninja -C build-ocl -j16 bench/elattn-decode-bench elattn-libs) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-60)" >> $f
B=build-ocl/bench/elattn-decode-bench
$B --list >> $f 2>&1
for x in "--copy-mib 0 --lead-tokens 0" "--lead-tokens 0"; do n=run$(echo $x | tr -dc 0-9 | cut -c1-3); s0=$SECONDS
  timeout 80 $B --device opencl:1 --head-dim 128 --dtype bf16 --lens 32768 --batch 1 --mix dense,fa-xa:0.5 --max-time 0.3 --page-budget 64 $x 2> $o/$n.err | while IFS= read -r l; do echo "$((SECONDS - s0)) s: $l"; done > $o/$n.txt
  echo "$n ($x) took $((SECONDS - s0)) s; last: $(tail -1 $o/$n.txt | cut -c1-150) / err: $(tail -2 $o/$n.err | tr '\n' ' ' | cut -c1-200)" >> $f
  sed -n '/^[0-9]* s: results/,$p' $o/$n.txt >> $f; [ $SECONDS -gt 130 ] && break; done
cat $f
