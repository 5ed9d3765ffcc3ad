#!/usr/bin/env bash
# Call 77 (2026-12-04, fourth session): opencl.attn.mma_async with the tile-table rows of call 76's tuner
# (D64 band m128n64w128, D128 band m128n32w128, sm_90): its conformance on opencl:1 with the rows and with
# two forced 16-rows-per-warp shapes (--no-isolate: the isolated workers do not see NVIDIA's OpenCL
# platform, call 76), then elattn-bench D128 and D64 bf16 8K / 32K, opencl:1's default (now mma_async)
# against opencl.attn.mma and cuda:0's wgmma, alternating.
set -u
o=$OUT/c77; mkdir -p $o; f=$o/c77.txt
left() { echo $((570 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
. shared/tools/nvidia-opencl.sh > $o/ocl-env.log 2>&1
git log --oneline -1 > $o/tree.txt; git status --short >> $o/tree.txt
(meson setup build-ocl -Dcuda=enabled -Dopencl=enabled -Dhip=disabled -Dclblast=disabled -Dnvcc_arch=sm_90a -Dbench=true \
  -Dtests=true >/dev/null && ninja -C build-ocl -j16) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-60)" >> $f
C=build-ocl/conformance/elattn-conformance
cf() { local n=$1; shift
  timeout $(lim 100) $C --backend opencl:1 --no-isolate --exclude xattn/ --exclude router/ --exclude invalid/ "$@" > $o/conf-$n.txt 2>&1
  echo "conf $n (rc $?): $(tail -1 $o/conf-$n.txt)" >> $f; grep -E "FAIL|ERROR" $o/conf-$n.txt | head -3 | cut -c1-200 >> $f; }
cf async-rows --kernel opencl.attn.mma_async
cf async-128-64-256 --kernel opencl.attn.mma_async --tiles 128,64,256
cf async-64-32-128 --kernel opencl.attn.mma_async --tiles 64,32,128
b() { # b TAG DEVICE HEADDIM [KERNEL]
  local n=bench-$1-d$3
  sleep 1
  timeout $(lim 60) build-ocl/bench/elattn-bench --device $2 ${4:+--kernel $4} --set paper --lens 8192,32768 \
    --mix dense,fa-ssa:0.75,fa-ssa:0.5 --dtype bf16 --head-dim $3 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05 > $o/$n.txt 2>&1
  echo "$n: $(grep -E '^bf16' $o/$n.txt | awk '{print $3"/"$4"="$6}' | tr '\n' ' ') $(grep -E '^bf16' $o/$n.txt | awk '{print $NF}' | sort -u | tr '\n' ' ')" >> $f
}
for d in 128 64; do
  for r in 1 2; do
    b cuda-r$r cuda:0 $d
    b default-r$r opencl:1 $d
    b mma-r$r opencl:1 $d opencl.attn.mma
  done
done
cat $f; cd $OUT && tar czf c77.tgz c77
