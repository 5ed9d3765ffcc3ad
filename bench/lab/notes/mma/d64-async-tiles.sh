#!/usr/bin/env bash
# One device call (twenty-sixth session, issue 12 goal 1 at D 64): opencl.attn.mma_async with key tiles
# the tuner never offered (96 and 128 keys at 32 rows a warp: Q, K and V of 128 rows fill 48 KiB, as
# FlashAttention-2's D 64 tiles do) against opencl:1's default (opencl.attn.mma m256n64w256r2) and
# cuda:0, from the repository root with `run`:
#   1. OpenCL build (with the conformance runner), the CUDA build meanwhile;
#   2. conformance on opencl:1 with the family and each new tile forced (D 64 cases, --no-isolate);
#   3. elattn-bench bf16 D 64, 8K / 32K, dense and fa-ssa:0.75: default, async 128x64 (the tuner's
#      best at 4K), 128x96, 128x128; cuda:0; then the same OpenCL set again.
# Output in $OUT/dt: dt.txt (summary) and the raw outputs.
set -u
o=$OUT/dt; mkdir -p $o/tmp; f=$o/dt.txt
export TMPDIR=$o/tmp
: > $f; tail -f $f & tailpid=$!
left() { echo $((${BUDGET_S:-330} - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
. shared/tools/nvidia-opencl.sh > $o/ocl-env.log 2>&1
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader >> $f 2>&1
(meson setup build-cu -Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false \
  >/dev/null && ninja -C build-cu -j10 elattn-libs bench/elattn-bench) > $o/build-cu.log 2>&1 &
cupid=$!
(meson setup build-ocl -Dcuda=disabled -Dopencl=enabled -Dhip=disabled -Dclblast=disabled -Dbench=true -Dtests=true \
  >/dev/null && ninja -C build-ocl -j6 elattn-libs conformance/elattn-conformance bench/elattn-bench) > $o/build-ocl.log 2>&1
echo "build-ocl $SECONDS s: $(tail -1 $o/build-ocl.log | cut -c1-80)" >> $f
for t in 128,96,128 128,128,128; do
  timeout $(lim 60) build-ocl/conformance/elattn-conformance --backend opencl:1 --no-isolate --case /d64/ --exclude xattn/ \
    --exclude decode/ --kernel opencl.attn.mma_async --tiles $t > $o/conf-$t.txt 2>&1
  echo "conf $t (rc $?): $(tail -1 $o/conf-$t.txt)" >> $f; grep -E " FAIL | ERROR " $o/conf-$t.txt | head -3 | cut -c1-300 >> $f
done
bn() { # bn TAG BUILD DEVICE [KERNEL [TILES]]
  local n=bench-$1
  [ -f $o/$n.txt ] && n=$n-2
  [ "$(left)" -lt 25 ] && { echo "$n: skipped (time)" >> $f; return; }
  timeout $(lim 45) $2/bench/elattn-bench --device $3 ${4:+--kernel $4} ${5:+--tiles $5} --set paper --lens 8192,32768 \
    --mix dense,fa-ssa:0.75 --dtype bf16 --head-dim 64 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05 \
    > $o/$n.txt 2>&1
  echo "$n (rc $?): $(grep -E '^bf16' $o/$n.txt | awk '{print $3"/"$4"="$6}' | tr '\n' ' ') $(grep -E '^bf16' $o/$n.txt | awk '{print $NF}' | sort -u | tr '\n' ' ')" >> $f
}
ocl_round() {
  bn default build-ocl opencl:1
  bn async-n64 build-ocl opencl:1 opencl.attn.mma_async 128,64,128
  bn async-n96 build-ocl opencl:1 opencl.attn.mma_async 128,96,128
  bn async-n128 build-ocl opencl:1 opencl.attn.mma_async 128,128,128
}
ocl_round
while kill -0 $cupid 2>/dev/null && [ "$(left)" -gt 40 ]; do sleep 2; done
echo "build-cu at $SECONDS s: $(tail -1 $o/build-cu.log | cut -c1-80)" >> $f
bn cuda build-cu cuda:0
ocl_round
echo "end $SECONDS s" >> $f
sleep 1; kill $tailpid; kill $cupid 2>/dev/null; true
