#!/usr/bin/env bash
# Call 76 (2026-12-04, fourth session): issue 12 goal 1 at D128, the OpenCL family mma.async
# (kernels/opencl/attn_mma_async.cl: cp.async K/V, Q in registers at 16 rows per warp) on NVIDIA's OpenCL
# driver for the first time: its conformance with four tile shapes forced, the tuner (both tensor-core
# families), and elattn-bench D128 / D64 bf16 8K and 32K against opencl.attn.mma (the table's row) and
# cuda:0's wgmma family, in one call.
set -u
o=$OUT/c76; mkdir -p $o; f=$o/c76.txt
left() { echo $((570 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
. shared/tools/nvidia-opencl.sh > $o/ocl-env.log 2>&1
git log --oneline -1 > $o/tree.txt; git status --short >> $o/tree.txt
(meson setup build-ocl -Dcuda=enabled -Dopencl=enabled -Dhip=disabled -Dclblast=disabled -Dnvcc_arch=sm_90a -Dbench=true \
  -Dtests=true >/dev/null && ninja -C build-ocl -j16) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-60)" >> $f
C=build-ocl/conformance/elattn-conformance
for t in 128,32,128 64,64,128 128,64,256 128,32,256; do
  timeout $(lim 150) $C --backend opencl:1 --kernel opencl.attn.mma.async --tiles $t --exclude xattn/ --exclude router/ \
    --exclude invalid/ > $o/conf-${t//,/-}.txt 2>&1 &
done
wait
for t in 128,32,128 64,64,128 128,64,256 128,32,256; do
  echo "conf mma.async $t: $(tail -1 $o/conf-${t//,/-}.txt)" >> $f
  grep -E "FAIL|ERROR" $o/conf-${t//,/-}.txt | head -3 | cut -c1-200 >> $f
done
timeout $(lim 150) build-ocl/bench/elattn-opencl-tune --device opencl:1 --family mma --head-dims 128,64 --budget 50 > $o/tune.txt 2>&1
echo "tune rc=$?" >> $f; grep -E "^#   d(64|128) .*TFLOP|^\{" $o/tune.txt | sort -t'|' -k1 | head -60 >> $f
b() { # b TAG DEVICE HEADDIM KERNEL [TILES]
  local n=bench-$1-d$3
  sleep 1
  timeout $(lim 60) build-ocl/bench/elattn-bench --device $2 --kernel $4 ${5:+--tiles $5} --set paper --lens 8192,32768 \
    --mix dense,fa-ssa:0.75 --dtype bf16 --head-dim $3 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05 > $o/$n.txt 2>&1
  echo "$n: $(grep -E '^bf16' $o/$n.txt | awk '{print $3"/"$4"="$6}' | tr '\n' ' ') $(grep -E '^bf16' $o/$n.txt | awk '{print $NF}' | sort -u | tr '\n' ' ')" >> $f
}
for d in 128 64; do
  b cuda cuda:0 $d cuda.attn
  b mma opencl:1 $d opencl.attn.mma
  b async-m128n32w128 opencl:1 $d opencl.attn.mma.async 128,32,128
  b async-m64n64w128 opencl:1 $d opencl.attn.mma.async 64,64,128
  b async-m128n64w256 opencl:1 $d opencl.attn.mma.async 128,64,256
  b async-m128n32w256 opencl:1 $d opencl.attn.mma.async 128,32,256
  b cuda2 cuda:0 $d cuda.attn
done
nvidia-smi > $o/machine.txt 2>&1
cat $f; cd $OUT && tar czf c76.tgz c76
