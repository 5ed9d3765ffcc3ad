#!/usr/bin/env bash
# One device call (twenty-seventh session, issue 12 goal 1 at D 128): opencl.attn.mma_async tiles timed
# at 8K and 32K rather than at the tuner's 4K. At D 64 the tuner's 4K winner was not the best at 32K
# (call 161: 128 x 96 tiles, which it had not offered, took 0.9x its time). Candidates at D 128, all
# within 48 KiB: the table's row 128 x 32 at 32 rows a warp (Q, K, V in local memory; 255 registers,
# two work-groups per SM), and at 16 rows a warp (Q in registers, K double-buffered, one V) 128 x 48
# and 128 x 64 (219-230 registers, eight warps: one work-group per SM), 64 x 48 and 64 x 64 (four
# warps: two); 48 keys are new. From the repository root with `run`:
#   1. OpenCL build (with the conformance runner), the CUDA build meanwhile;
#   2. conformance on opencl:1, D 128 attention cases, mma_async forced at 128 x 48 and 64 x 48;
#   3. elattn-bench bf16 D 128, 8K / 32K, dense and fa-ssa:0.75: each candidate, cuda:0, the
#      candidates again.
# BUDGET_S (default 320) bounds it. Output: $OUT/d128.txt (summary, also on stdout), $OUT/d128.tgz.
set -u
o=$OUT/d128; mkdir -p $o; f=$o/d128.txt
export TMPDIR=$(mktemp -d) # outside $OUT: the device tool brings back a limited number of files
: > $f; tail -f $f & tailpid=$!
left() { echo $((${BUDGET_S:-320} - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
. shared/tools/nvidia-opencl.sh > $o/ocl-env.log 2>&1
echo "$(nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader); $(git log -1 --format=%h 2>/dev/null)" >> $f
(meson setup build-cu -Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false \
  >/dev/null && ninja -C build-cu -j10 elattn-libs bench/elattn-bench) > $o/build-cu.log 2>&1 &
cupid=$!
(meson setup build-ocl -Dcuda=disabled -Dopencl=enabled -Dhip=disabled -Dclblast=disabled -Dbench=true -Dtests=true \
  >/dev/null && ninja -C build-ocl -j6 elattn-libs conformance/elattn-conformance bench/elattn-bench) > $o/build-ocl.log 2>&1
echo "build-ocl $SECONDS s: $(tail -1 $o/build-ocl.log | cut -c1-80)" >> $f
for t in 128,48,256 64,48,128; do
  timeout $(lim 40) build-ocl/conformance/elattn-conformance --backend opencl:1 --no-isolate --case /d128/ --exclude xattn/ \
    --exclude decode/ --kernel opencl.attn.mma_async --tiles $t > $o/conf-$t.txt 2>&1
  echo "conf $t (rc $?): $(tail -1 $o/conf-$t.txt)" >> $f; grep -E " FAIL | ERROR " $o/conf-$t.txt | head -3 | cut -c1-300 >> $f
done
bn() { # bn TAG BUILD DEVICE [TILES]
  local n=bench-$1
  [ -f $o/$n.txt ] && n=$n-2
  [ "$(left)" -lt 20 ] && { echo "$n: skipped (time)" >> $f; return; }
  timeout $(lim 40) $2/bench/elattn-bench --device $3 ${4:+--kernel opencl.attn.mma_async --tiles $4} --set paper \
    --lens 8192,32768 --mix dense,fa-ssa:0.75 --dtype bf16 --head-dim 128 --no-check --no-router --no-serial \
    --max-reps 5 --min-time 0.05 > $o/$n.txt 2>&1
  echo "$n (rc $?): $(grep -E '^bf16' $o/$n.txt | awk '{print $3"/"$4"="$6}' | tr '\n' ' ')" \
    "$(grep -E '^bf16' $o/$n.txt | awk '{print $NF}' | sort -u | tr '\n' ' ')" >> $f
}
ocl_round() {
  bn m128n32 build-ocl opencl:1 128,32,128
  bn m128n48 build-ocl opencl:1 128,48,256
  bn m128n64 build-ocl opencl:1 128,64,256
  bn m64n48 build-ocl opencl:1 64,48,128
  bn m64n64 build-ocl opencl:1 64,64,128
}
ocl_round
while kill -0 $cupid 2>/dev/null && [ "$(left)" -gt 30 ]; do sleep 2; done
echo "build-cu at $SECONDS s: $(tail -1 $o/build-cu.log | cut -c1-80)" >> $f
bn cuda build-cu cuda:0
ocl_round
echo "end $SECONDS s" >> $f
sleep 1; kill $tailpid; kill $cupid 2>/dev/null
cp $f $OUT/d128.txt; tar czf $OUT/d128.tgz -C $OUT d128 && rm -rf $o; true
