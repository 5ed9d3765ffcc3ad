#!/usr/bin/env bash
# Call 124 (seventeenth session): the script as it ran then, rebuilt from call126.sh (its next form):
# 32-key tiles (K and V double-buffered) at D 128, and D 64 with 64-key tiles from a tree copy
# without the refusal of that shape (/tmp/xtree, its own build).
# One device call for the OpenCL wgmma family (opencl.attn.wgmma, kernels/opencl/attn_wgmma.cl),
# run from the repository root with `run` (sixteenth session, call 119; seventeenth, its chains in
# one asm statement each, call 122; 128-row tiles of two warpgroups, call 123; 32-key tiles with K
# and V double-buffered, and D 64 with 64-key tiles from a tree copy without its refusal, call 124;
# the chains' A fragments kept live across the loop (WG_KEEP) and D 64 with 64-key tiles allowed,
# call 126):
#   0. wgmma_layout_check.c (this folder): the chains' A fragments, K-major and MN-major B, step
#      descriptors and accumulator layouts against a host product, through the library's PTX edit.
#   1. OpenCL-only build (build-ocl); the CUDA build (build-cu, elattn-bench's cuda:0) in the
#      background meanwhile.
#   2. Conformance on opencl:1 with the family forced (attention cases), --no-isolate (isolated
#      workers do not see NVIDIA's OpenCL platform), default tiles, 64-key tiles at D 64 (128 and 64
#      rows) and 32-key tiles at D 128; the
#      PTX NVIDIA's front end made (ELATTN_OPENCL_PTX_DUMP) assembled by hand: ptxas -v (registers,
#      stack, warnings) and the SASS's count of HGMMA, WARPGROUP.ARRIVE and DEPBAR (one ARRIVE and
#      one DEPBAR per chain when the chain is not serialised), and each HGMMA's A register (Q's
#      and P's must differ).
#   3. elattn-bench bf16 D 64 and D 128, 8K / 32K, dense and fa-ssa:0.75: opencl:1 wgmma (64-key
#      tiles at D 64 with 128 and 64 rows, and its defaults) and opencl:1's default (mma at D 64,
#      mma_async at D 128) while the CUDA build ends, then cuda:0 (wgmma), then a second round at
#      D 64.
# Everything lands in $OUT/wg (TMPDIR too: a failed OpenCL build's whole log), packed as wg.tgz.
set -u
o=$OUT/wg; mkdir -p $o/tmp $o/ptx $o/ptx-n32; f=$o/wg.txt
export TMPDIR=$o/tmp
: > $f; tail -f $f & tailpid=$! # each line on stdout as it comes, in case the call is cut short
left() { echo $((250 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
. shared/tools/nvidia-opencl.sh > $o/ocl-env.log 2>&1
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader > $o/gpu.txt 2>&1
(cc -O2 -Ibackends/opencl -o $o/wlc bench/lab/notes/mma/wgmma_layout_check.c backends/opencl/opencl_ptx_edit.c -lOpenCL -lm &&
  timeout 60 $o/wlc; echo "layout check rc=$?"; rm -f $o/wlc) > $o/layout.txt 2>&1
grep -E "^(ok|FAIL)|rc=" $o/layout.txt | cut -c1-300 >> $f
(meson setup build-cu -Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false \
  >/dev/null && ninja -C build-cu -j10 elattn-libs bench/elattn-bench) > $o/build-cu.log 2>&1 &
cupid=$!
# the tree copy for D 64 with 64-key tiles: its refusal out (this call only)
rm -rf /tmp/xtree && mkdir /tmp/xtree && tar --exclude='./build*' --exclude=./.p -cf - . | (cd /tmp/xtree && tar xf -) &&
  sed -i 's/if (!emulate \&\& d->head_dim == 64 \&\& n == 64)/if (0)/' /tmp/xtree/backends/opencl/opencl_attn.c
echo "refusal out of the copy: $(grep -c 'if (0)' /tmp/xtree/backends/opencl/opencl_attn.c)" >> $f
(meson setup build-ocl -Dcuda=disabled -Dopencl=enabled -Dhip=disabled -Dclblast=disabled -Dbench=true -Dtests=true \
  >/dev/null && ninja -C build-ocl -j6 elattn-libs conformance/elattn-conformance bench/elattn-bench) > $o/build-ocl.log 2>&1
(cd /tmp/xtree && meson setup build-x -Dcuda=disabled -Dopencl=enabled -Dhip=disabled -Dclblast=disabled -Dbench=true \
  -Dtests=true >/dev/null && ninja -C build-x -j6 elattn-libs conformance/elattn-conformance bench/elattn-bench) > $o/build-x.log 2>&1
echo "build-ocl $SECONDS s: $(tail -1 $o/build-ocl.log | cut -c1-80)" >> $f
C=build-ocl/conformance/elattn-conformance
cf() { local n=$1; shift; local C=${CONF:-$C}
  [ "$(left)" -lt 20 ] && { echo "conf $n: skipped (time)" >> $f; return; }
  timeout $(lim 90) $C --backend opencl:1 --no-isolate --exclude xattn/ --exclude router/ --exclude invalid/ \
    --exclude decode/ "$@" > $o/conf-$n.txt 2>&1
  echo "conf $n (rc $?): $(tail -1 $o/conf-$n.txt)" >> $f; grep -E " FAIL | ERROR " $o/conf-$n.txt | head -4 | cut -c1-400 >> $f; }
export ELATTN_OPENCL_PTX_DUMP=$o/ptx; cf wgmma --kernel opencl.attn.wgmma
export ELATTN_OPENCL_PTX_DUMP=$o/ptx-n32; cf wgmma-n32-d128 --kernel opencl.attn.wgmma --tiles 128,32,256 --case /d128/
unset ELATTN_OPENCL_PTX_DUMP; cf wgmma-m64n32-d128 --kernel opencl.attn.wgmma --tiles 64,32,128 --case /d128/
CONF=/tmp/xtree/build-x/conformance/elattn-conformance cf x-wgmma-n64-d64 --kernel opencl.attn.wgmma --tiles 128,64,256 --case /d64/
PTXAS=$(command -v ptxas || echo /usr/local/cuda/bin/ptxas); DIS=$(command -v cuobjdump || echo /usr/local/cuda/bin/cuobjdump)
for p in $(ls $o/ptx/*.ptx 2>/dev/null | head -2) $(ls $o/ptx-n32/*.ptx 2>/dev/null | head -2); do # ptxas and the SASS of each wgmma program
  grep -q 'wgmma.mma_async' $p || continue
  b=${p%.ptx}; $PTXAS -arch=sm_90a -v $p -o $b.cubin > $b.ptxas.txt 2>&1; $DIS -sass $b.cubin > $b.sass 2>&1
  echo "$(basename $(dirname $p))/$(basename $p): $(grep -o 'Used [0-9]* registers' $b.ptxas.txt | tail -1)," \
    "$(grep -o '[0-9]* bytes stack frame' $b.ptxas.txt | tail -1), warnings $(grep -ci warn $b.ptxas.txt); HGMMA $(grep -c HGMMA $b.sass)," \
    "ARRIVE $(grep -c WARPGROUP.ARRIVE $b.sass), DEPBAR $(grep -c WARPGROUP.DEPBAR $b.sass), $(grep -o 'HGMMA.64x[0-9]*x16' $b.sass | sort | uniq -c | tr '\n' ' ')" >> $f
  grep -nE 'HGMMA|WARPGROUP|BAR\.SYNC' $b.sass | sed 's/  */ /g' | cut -c1-100 > $b.seq.txt; rm -f $b.cubin $b.sass
done
b() { # b TAG BUILD DEVICE HEADDIM [KERNEL [TILES]]
  local n=bench-$1-d$4
  [ "$(left)" -lt 30 ] && { echo "$n: skipped (time)" >> $f; return; }
  timeout $(lim 50) $2/bench/elattn-bench --device $3 ${5:+--kernel $5} ${6:+--tiles $6} --set paper --lens 8192,32768 \
    --mix dense,fa-ssa:0.75 --dtype bf16 --head-dim $4 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05 \
    > $o/$n.txt 2>&1
  echo "$n (rc $?): $(grep -E '^bf16' $o/$n.txt | awk '{print $3"/"$4"="$6}' | tr '\n' ' ') $(grep -E '^bf16' $o/$n.txt | awk '{print $NF}' | sort -u | tr '\n' ' ')" >> $f
}
# OpenCL first, while the CUDA build finishes; then cuda:0; then a second round at D 128
b wgmma-r1 build-ocl opencl:1 128 opencl.attn.wgmma; b wgmma-n32-r1 build-ocl opencl:1 128 opencl.attn.wgmma 128,32,256
b wgmma-m64n32-r1 build-ocl opencl:1 128 opencl.attn.wgmma 64,32,128; b default-r1 build-ocl opencl:1 128
b wgmma-r1 build-ocl opencl:1 64 opencl.attn.wgmma; b x-wgmma-n64-r1 /tmp/xtree/build-x opencl:1 64 opencl.attn.wgmma 128,64,256
b default-r1 build-ocl opencl:1 64
while kill -0 $cupid 2>/dev/null && [ "$(left)" -gt 40 ]; do sleep 2; done
echo "build-cu at $SECONDS s: $(tail -1 $o/build-cu.log | cut -c1-80)" >> $f
b cuda-r1 build-cu cuda:0 128; b cuda-r1 build-cu cuda:0 64
b wgmma-n32-r2 build-ocl opencl:1 128 opencl.attn.wgmma 128,32,256; b cuda-r2 build-cu cuda:0 128
b default-r2 build-ocl opencl:1 128; b x-wgmma-n64-r2 /tmp/xtree/build-x opencl:1 64 opencl.attn.wgmma 128,64,256
echo "end $SECONDS s" >> $f
sleep 1; kill $tailpid; cd $OUT && tar czf wg.tgz wg && rm -rf wg
kill $cupid 2>/dev/null; true
