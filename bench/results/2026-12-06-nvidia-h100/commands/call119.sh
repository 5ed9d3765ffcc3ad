#!/usr/bin/env bash
# One device call (sixteenth session, 2026-12-06) for the OpenCL wgmma family (opencl.attn.wgmma,
# kernels/opencl/attn_wgmma.cl), run from the repository root with `run`:
#   0. wgmma_binary_probe.c (this folder): the register-A layout and the m64n128k16 issue rate;
#      wgmma_layout_check.c (this folder): the helpers' A fragment, K-major and MN-major B and
#      accumulator layouts against a host product, N 64 and 128, through the library's PTX edit.
#   1. OpenCL-only build (build-ocl); the CUDA build (build-cu, elattn-bench's cuda:0) in the
#      background meanwhile.
#   2. Conformance on opencl:1 with the family forced (attention cases), --no-isolate (isolated
#      workers do not see NVIDIA's OpenCL platform); at the end, as time allows, D 64 with 64-key
#      tiles forced.
#   3. elattn-bench bf16 D 128 and D 64, 8K / 32K, dense and fa-ssa:0.75: opencl:1 wgmma and opencl:1's
#      default (mma_async at D 128, mma at D 64) while the CUDA build ends, then cuda:0 (wgmma), then
#      a second round of the three at D 128, then D 64 with 64-key tiles (the default there is 128).
#   4. As time allows (issue 14): 8K decode at batch 16 / 64, fa-ssa:0.75 and dense, --splits 1-4 against
#      the policy's plan.
# Everything lands in $OUT/wg (TMPDIR too: a failed OpenCL build's whole log), packed as wg.tgz.
set -u
o=$OUT/wg; mkdir -p $o/tmp; f=$o/wg.txt
export TMPDIR=$o/tmp
: > $f; tail -f $f & tailpid=$! # each line on stdout as it comes, in case the call is cut short
left() { echo $((250 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
. shared/tools/nvidia-opencl.sh > $o/ocl-env.log 2>&1
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader > $o/gpu.txt 2>&1
(cd $o && cc -O2 -o probe $OLDPWD/bench/lab/notes/mma/wgmma_binary_probe.c -lOpenCL && timeout 60 ./probe; echo "probe rc=$?"; rm -f probe) > $o/probe.txt 2>&1
grep -E "RESULT|wrong|rate:|rc=" $o/probe.txt >> $f
(cc -O2 -Ibackends/opencl -o $o/wlc bench/lab/notes/mma/wgmma_layout_check.c backends/opencl/opencl_ptx_edit.c -lOpenCL -lm &&
  timeout 60 $o/wlc; echo "layout check rc=$?"; rm -f $o/wlc) > $o/layout.txt 2>&1
grep -E "^(ok|FAIL)|rc=" $o/layout.txt | cut -c1-300 >> $f
(meson setup build-cu -Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=true -Dtests=false \
  >/dev/null && ninja -C build-cu -j10 elattn-libs bench/elattn-bench bench/elattn-decode-bench) > $o/build-cu.log 2>&1 &
cupid=$!
(meson setup build-ocl -Dcuda=disabled -Dopencl=enabled -Dhip=disabled -Dclblast=disabled -Dbench=true -Dtests=true \
  >/dev/null && ninja -C build-ocl -j6 elattn-libs conformance/elattn-conformance bench/elattn-bench) > $o/build-ocl.log 2>&1
echo "build-ocl $SECONDS s: $(tail -1 $o/build-ocl.log | cut -c1-80)" >> $f
C=build-ocl/conformance/elattn-conformance
cf() { local n=$1; shift
  [ "$(left)" -lt 20 ] && { echo "conf $n: skipped (time)" >> $f; return; }
  timeout $(lim 90) $C --backend opencl:1 --no-isolate --exclude xattn/ --exclude router/ --exclude invalid/ \
    --exclude decode/ "$@" > $o/conf-$n.txt 2>&1
  echo "conf $n (rc $?): $(tail -1 $o/conf-$n.txt)" >> $f; grep -E " FAIL | ERROR " $o/conf-$n.txt | head -4 | cut -c1-400 >> $f; }
cf wgmma --kernel opencl.attn.wgmma
b() { # b TAG BUILD DEVICE HEADDIM [KERNEL [TILES]]
  local n=bench-$1-d$4
  [ "$(left)" -lt 30 ] && { echo "$n: skipped (time)" >> $f; return; }
  timeout $(lim 50) $2/bench/elattn-bench --device $3 ${5:+--kernel $5} ${6:+--tiles $6} --set paper --lens 8192,32768 \
    --mix dense,fa-ssa:0.75 --dtype bf16 --head-dim $4 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05 \
    > $o/$n.txt 2>&1
  echo "$n (rc $?): $(grep -E '^bf16' $o/$n.txt | awk '{print $3"/"$4"="$6}' | tr '\n' ' ') $(grep -E '^bf16' $o/$n.txt | awk '{print $NF}' | sort -u | tr '\n' ' ')" >> $f
}
# OpenCL first, while the CUDA build finishes; then cuda:0; then a second round of all three at D 128
b wgmma-r1 build-ocl opencl:1 128 opencl.attn.wgmma; b default-r1 build-ocl opencl:1 128
b wgmma-r1 build-ocl opencl:1 64 opencl.attn.wgmma; b default-r1 build-ocl opencl:1 64
while kill -0 $cupid 2>/dev/null && [ "$(left)" -gt 40 ]; do sleep 2; done
echo "build-cu at $SECONDS s: $(tail -1 $o/build-cu.log | cut -c1-80)" >> $f
b cuda-r1 build-cu cuda:0 128; b cuda-r1 build-cu cuda:0 64
b wgmma-r2 build-ocl opencl:1 128 opencl.attn.wgmma; b cuda-r2 build-cu cuda:0 128; b default-r2 build-ocl opencl:1 128
b wgmma-n64 build-ocl opencl:1 64 opencl.attn.wgmma 64,64,128
cf wgmma-d64-n64 --kernel opencl.attn.wgmma --tiles 64,64,128 --case /d64/
# issue 14, as time allows: 8K fa-ssa:0.75 decode at batch 16 and 64 with every head cut into 1-4
# chunks (--splits) against the policy's plan (none; the serial composition beat it in call 118)
for s in 0 1 2 4 3; do
  [ "$(left)" -lt 20 ] && break
  timeout $(lim 30) build-cu/bench/elattn-decode-bench --device cuda:0 --lens 8192 --batch 16,64 --mix fa-ssa:0.75,dense \
    --head-dim 128 --dtype bf16 --flush read --max-time 0.2 $([ $s = 0 ] || echo --splits $s) > $o/dec-splits$s.txt 2>&1
  echo "decode splits $s (rc $?):" >> $f; sed -n '/^results/,$p' $o/dec-splits$s.txt | grep -E '^ +[0-9]' | cut -c1-150 >> $f
done
echo "end $SECONDS s" >> $f
sleep 1; kill $tailpid; cd $OUT && tar czf wg.tgz wg && rm -rf wg
kill $cupid 2>/dev/null; true
