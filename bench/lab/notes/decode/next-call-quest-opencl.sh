#!/usr/bin/env bash
# Quest page selection on NVIDIA's OpenCL driver (opencl:1) and what call 96 left undone; written
# 2026-12-05. Run from the repository root with `run` (shared/tools is carried with the tree).
#   1. decode conformance on opencl:1 (opencl.decode.scalar, the Quest cases among them);
#   2. Quest beside dense decode on opencl:1: 32K, batch 1, fa-xa:0.5 with and without
#      --page-budget 64.
set -u
o=$OUT/co; mkdir -p $o; f=$o/co.txt
left() { echo $((560 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git status --short > $o/tree.txt 2>&1; git log --oneline -1 >> $o/tree.txt
. shared/tools/nvidia-opencl.sh
(meson setup build-co -Dcuda=enabled -Dopencl=enabled -Dnvcc_arch=sm_90a -Dbench=true -Dhip=disabled -Dtests=false >/dev/null &&
  ninja -C build-co -j16 bench/elattn-decode-bench conformance/elattn-conformance elattn-libs) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-60)" >> $f
timeout $(lim 200) build-co/conformance/elattn-conformance --backend opencl:1 --case decode/ --no-isolate > $o/conf-decode-ocl.txt 2>&1
echo "conf decode opencl:1 rc=$?: $(tail -1 $o/conf-decode-ocl.txt)" >> $f; grep -E "FAIL|ERROR" $o/conf-decode-ocl.txt | head -5 | cut -c1-220 >> $f
for x in "" "--page-budget 64"; do n=ocl-quest$(echo $x | tr -dc 0-9)
  timeout $(lim 120) build-co/bench/elattn-decode-bench --device opencl:1 --head-dim 128 --dtype bf16 --lens 32768 --batch 1 --mix dense,fa-xa:0.5 --max-time 0.3 $x > $o/$n.txt 2>&1
  echo "$n: $(sed -n '/^results/,$p' $o/$n.txt | grep -E '^ +[0-9]' | awk '{print $1/1024"Kx"$2" "$3"="$4}' | tr '\n' ' ')" >> $f; done
echo "end $SECONDS s" >> $f
cd $OUT && tar czf co.tgz co && rm -rf co/conf-* co/ocl-* co/build.log
cat $f
