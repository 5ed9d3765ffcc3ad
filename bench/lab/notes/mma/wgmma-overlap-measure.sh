#!/usr/bin/env bash
# One device call (twenty-sixth session, issue 12; call 160, with wgmma-overlap-kv2.patch, this folder, applied:
# main does not keep it): the OpenCL wgmma family's KV2 schedule with S_t+1's
# chain issued before tile t's softmax (wgmma_chain_set_issue, kernels/opencl/attn_wgmma.cl), from the
# repository root with `run`:
#   1. OpenCL build (build-ocl, with the conformance runner); the CUDA build (build-cu) meanwhile.
#   2. Conformance on opencl:1 with the family forced at the KV2 tiles (D 128: 128,32,256; D 64:
#      128,64,256) and at its default tiles (K2V1, unchanged), --no-isolate; the KV2 programs' PTX
#      assembled by hand: ptxas -v (registers, warnings: a serialised chain says so) and the SASS's
#      HGMMA / WARPGROUP.ARRIVE / DEPBAR counts.
#   3. elattn-bench bf16 8K / 32K, dense and fa-ssa:0.75: opencl:1 wgmma KV2, wgmma default,
#      opencl:1's default family (mma_async at D 128, mma at D 64), then cuda:0; two rounds at D 128.
# Output in $OUT/ov: ov.txt (summary) and the raw outputs.
set -u
o=$OUT/ov; mkdir -p $o/tmp $o/ptx; f=$o/ov.txt
export TMPDIR=$o/tmp
: > $f; tail -f $f & tailpid=$!
left() { echo $((${BUDGET_S:-420} - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
. shared/tools/nvidia-opencl.sh > $o/ocl-env.log 2>&1
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader >> $f 2>&1
git log -1 --format=%H >> $f; git status --short | head -5 >> $f
(meson setup build-cu -Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false \
  >/dev/null && ninja -C build-cu -j10 elattn-libs bench/elattn-bench) > $o/build-cu.log 2>&1 &
cupid=$!
(meson setup build-ocl -Dcuda=disabled -Dopencl=enabled -Dhip=disabled -Dclblast=disabled -Dbench=true -Dtests=true \
  >/dev/null && ninja -C build-ocl -j6 elattn-libs conformance/elattn-conformance bench/elattn-bench) > $o/build-ocl.log 2>&1
echo "build-ocl $SECONDS s: $(tail -1 $o/build-ocl.log | cut -c1-80)" >> $f
C=build-ocl/conformance/elattn-conformance
cf() { local n=$1; shift
  [ "$(left)" -lt 20 ] && { echo "conf $n: skipped (time)" >> $f; return; }
  timeout $(lim 80) $C --backend opencl:1 --no-isolate --exclude xattn/ --exclude router/ --exclude invalid/ \
    --exclude decode/ --kernel opencl.attn.wgmma "$@" > $o/conf-$n.txt 2>&1
  echo "conf $n (rc $?): $(tail -1 $o/conf-$n.txt)" >> $f; grep -E " FAIL | ERROR " $o/conf-$n.txt | head -4 | cut -c1-400 >> $f; }
export ELATTN_OPENCL_PTX_DUMP=$o/ptx
cf kv2-d128 --tiles 128,32,256 --case /d128/
cf kv2-d64 --tiles 128,64,256 --case /d64/
unset ELATTN_OPENCL_PTX_DUMP
cf default
PTXAS=$(command -v ptxas || echo /usr/local/cuda/bin/ptxas); DIS=$(command -v cuobjdump || echo /usr/local/cuda/bin/cuobjdump)
for p in $(grep -l 'wgmma.mma_async' $o/ptx/*.ptx 2>/dev/null | head -3); do
  b=${p%.ptx}; $PTXAS -arch=sm_90a -v $p -o $b.cubin > $b.ptxas.txt 2>&1; $DIS -sass $b.cubin > $b.sass 2>&1
  echo "$(basename $p): $(grep -o 'Used [0-9]* registers' $b.ptxas.txt | tail -1), $(grep -o '[0-9]* bytes stack frame' $b.ptxas.txt | tail -1)," \
    "warnings $(grep -ci warn $b.ptxas.txt) $(grep -i warn $b.ptxas.txt | head -2 | cut -c1-200); HGMMA $(grep -c HGMMA $b.sass)," \
    "ARRIVE $(grep -c WARPGROUP.ARRIVE $b.sass), DEPBAR $(grep -c WARPGROUP.DEPBAR $b.sass), $(grep -o 'HGMMA.64x[0-9]*x16' $b.sass | sort | uniq -c | tr '\n' ' ')" >> $f
  grep -nE 'HGMMA|WARPGROUP|BAR\.SYNC|MUFU.EX2' $b.sass | sed 's/  */ /g' | cut -c1-90 > $b.seq.txt; rm -f $b.cubin $b.sass
done
bn() { # bn TAG BUILD DEVICE HEADDIM [KERNEL [TILES]]
  local n=bench-$1-d$4
  [ "$(left)" -lt 30 ] && { echo "$n: skipped (time)" >> $f; return; }
  timeout $(lim 50) $2/bench/elattn-bench --device $3 ${5:+--kernel $5} ${6:+--tiles $6} --set paper --lens 8192,32768 \
    --mix dense,fa-ssa:0.75 --dtype bf16 --head-dim $4 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05 \
    > $o/$n.txt 2>&1
  echo "$n (rc $?): $(grep -E '^bf16' $o/$n.txt | awk '{print $3"/"$4"="$6}' | tr '\n' ' ') $(grep -E '^bf16' $o/$n.txt | awk '{print $NF}' | sort -u | tr '\n' ' ')" >> $f
}
bn kv2-r1 build-ocl opencl:1 128 opencl.attn.wgmma 128,32,256; bn wgdef-r1 build-ocl opencl:1 128 opencl.attn.wgmma
bn default-r1 build-ocl opencl:1 128
bn kv2-r1 build-ocl opencl:1 64 opencl.attn.wgmma 128,64,256; bn default-r1 build-ocl opencl:1 64
while kill -0 $cupid 2>/dev/null && [ "$(left)" -gt 40 ]; do sleep 2; done
echo "build-cu at $SECONDS s: $(tail -1 $o/build-cu.log | cut -c1-80)" >> $f
bn cuda-r1 build-cu cuda:0 128; bn cuda-r1 build-cu cuda:0 64
bn kv2-r2 build-ocl opencl:1 128 opencl.attn.wgmma 128,32,256; bn default-r2 build-ocl opencl:1 128
echo "end $SECONDS s" >> $f
sleep 1; kill $tailpid; kill $cupid 2>/dev/null; true
