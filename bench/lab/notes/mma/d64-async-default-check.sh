#!/usr/bin/env bash
# One device call (twenty-sixth session, issue 12 goal 1 at D 64): the tile table's new D 64 row
# (opencl.attn.mma_async 128 x 96 on sm_90) as opencl:1's default, from the repository root with `run`:
#   1. OpenCL build (with the conformance runner), the CUDA build meanwhile;
#   2. conformance on opencl:1, attention cases, every family forced in turn (the runner's default
#      axis; each family at its table row), --no-isolate;
#   3. elattn-bench D 64, bf16 then fp16, 8K / 32K, dense, fa-ssa:0.75 and fa-ssa:0.5: opencl:1's
#      default, cuda:0, opencl:1 again; then, with the time left, D 128 mma_async tiles of 96 rows.
# Output in $OUT/dd: dd.txt (summary) and the raw outputs.
set -u
o=$OUT/dd; mkdir -p $o; f=$o/dd.txt
export TMPDIR=$(mktemp -d) # outside $OUT: the device tool brings back a limited number of files
: > $f; tail -f $f & tailpid=$!
left() { echo $((${BUDGET_S:-360} - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
. shared/tools/nvidia-opencl.sh > $o/ocl-env.log 2>&1
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader >> $f 2>&1
(meson setup build-cu -Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false \
  >/dev/null && ninja -C build-cu -j10 elattn-libs bench/elattn-bench) > $o/build-cu.log 2>&1 &
cupid=$!
(meson setup build-ocl -Dcuda=disabled -Dopencl=enabled -Dhip=disabled -Dclblast=disabled -Dbench=true -Dtests=true \
  >/dev/null && ninja -C build-ocl -j6 elattn-libs conformance/elattn-conformance bench/elattn-bench) > $o/build-ocl.log 2>&1
echo "build-ocl $SECONDS s: $(tail -1 $o/build-ocl.log | cut -c1-80)" >> $f
bn() { # bn TAG BUILD DEVICE DTYPE
  local n=bench-$1-$4
  [ -f $o/$n.txt ] && n=$n-2
  [ "$(left)" -lt 25 ] && { echo "$n: skipped (time)" >> $f; return; }
  timeout $(lim 50) $2/bench/elattn-bench --device $3 --set paper --lens 8192,32768 --mix dense,fa-ssa:0.75,fa-ssa:0.5 \
    --dtype $4 --head-dim 64 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05 > $o/$n.txt 2>&1
  echo "$n (rc $?): $(grep -E "^$4" $o/$n.txt | awk '{print $3"/"$4"="$6}' | tr '\n' ' ') $(grep -E "^$4" $o/$n.txt | awk '{print $NF}' | sort -u | tr '\n' ' ')" >> $f
}
timeout $(lim 150) build-ocl/conformance/elattn-conformance --backend opencl:1 --no-isolate --exclude xattn/ \
  --exclude router/ --exclude decode/ --exclude invalid/ > $o/conf.txt 2>&1
echo "conf (rc $?): $(tail -1 $o/conf.txt)" >> $f; grep -E " FAIL | ERROR " $o/conf.txt | head -4 | cut -c1-300 >> $f
echo "mma_async at d<=64: $(grep -E 'attn.mma_async' $o/conf.txt | grep -E '/d(16|32|48|64)/' | grep -c PASS) passed, kernels $(grep -oE 'kernel=opencl.attn.mma_async[^ ]*' $o/conf.txt | grep -E 'd(16|32|48|64)\.' | sort -u | tr '\n' ' ')" >> $f
while kill -0 $cupid 2>/dev/null && [ "$(left)" -gt 40 ]; do sleep 2; done
echo "build-cu at $SECONDS s: $(tail -1 $o/build-cu.log | cut -c1-80)" >> $f
bn ocl build-ocl opencl:1 bf16; bn cuda build-cu cuda:0 bf16; bn ocl build-ocl opencl:1 bf16
bn ocl build-ocl opencl:1 f16; bn cuda build-cu cuda:0 f16; bn ocl build-ocl opencl:1 f16
# D 128 probes with the time left: mma_async tiles of 96 rows (3 warps; 48 keys fill 48 KiB) against
# the table's 128 x 32, bf16, 8K / 32K dense and fa-ssa:0.75
bq() { # bq TAG TILES
  local n=bench-d128-$1
  [ "$(left)" -lt 25 ] && { echo "$n: skipped (time)" >> $f; return; }
  timeout $(lim 45) build-ocl/bench/elattn-bench --device opencl:1 --kernel opencl.attn.mma_async --tiles $2 --set paper \
    --lens 8192,32768 --mix dense,fa-ssa:0.75 --dtype bf16 --head-dim 128 --no-check --no-router --no-serial --max-reps 5 \
    --min-time 0.05 > $o/$n.txt 2>&1
  echo "$n (rc $?): $(grep -E '^bf16' $o/$n.txt | awk '{print $3"/"$4"="$6}' | tr '\n' ' ') $(grep -E '^bf16' $o/$n.txt | awk '{print $NF}' | sort -u | tr '\n' ' ')" >> $f
}
bq m128n32 128,32,128; bq m96n48 96,48,96; bq m96n32 96,32,96
echo "end $SECONDS s" >> $f
sleep 1; kill $tailpid; kill $cupid 2>/dev/null; true
