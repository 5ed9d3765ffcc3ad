#!/usr/bin/env bash
# A device call (seventeenth session, call 127; issue 12): after the session's changes to the
# OpenCL attention families (the wgmma chains, WG_KEEP, 128-row and 32-key tiles, the shared
# row-or-named rule of mma_async and wgmma in opencl_attn.c), the attention cases of the
# conformance matrix on NVIDIA's driver (opencl:1) with each tensor-core family forced by name,
# and what each head dim gets by default (elattn-bench's kernel column, 8K dense, bf16).
# Run from the repository root with `run`.
set -u
o=$OUT/fc; mkdir -p $o/tmp; f=$o/fc.txt
export TMPDIR=$o/tmp
: > $f; tail -f $f & tailpid=$!
left() { echo $((200 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
. shared/tools/nvidia-opencl.sh > $o/ocl-env.log 2>&1
(meson setup build-ocl -Dcuda=disabled -Dopencl=enabled -Dhip=disabled -Dclblast=disabled -Dbench=true -Dtests=true \
  >/dev/null && ninja -C build-ocl -j16 elattn-libs conformance/elattn-conformance bench/elattn-bench) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-60)" >> $f
C=build-ocl/conformance/elattn-conformance
for fam in wgmma mma_async mma; do
  [ "$(left)" -lt 25 ] && { echo "conf $fam: skipped (time)" >> $f; continue; }
  timeout $(lim 80) $C --backend opencl:1 --no-isolate --kernel opencl.attn.$fam --exclude xattn/ --exclude router/ \
    --exclude invalid/ --exclude decode/ > $o/conf-$fam.txt 2>&1
  echo "conf $fam (rc $?): $(tail -1 $o/conf-$fam.txt)" >> $f
  grep -E " FAIL | ERROR " $o/conf-$fam.txt | head -3 | cut -c1-250 >> $f
done
for d in 64 128; do
  [ "$(left)" -lt 15 ] && break
  timeout $(lim 30) build-ocl/bench/elattn-bench --device opencl:1 --set paper --lens 8192 --mix dense --dtype bf16 \
    --head-dim $d --no-check --no-router --no-serial --max-reps 3 --min-time 0.02 > $o/bench-d$d.txt 2>&1
  echo "default d$d (rc $?): $(grep -E '^bf16' $o/bench-d$d.txt | awk '{print $6, $NF}')" >> $f
done
echo "end $SECONDS s" >> $f
sleep 1; kill $tailpid; cd $OUT && tar czf fc.tgz fc && rm -rf fc
