#!/usr/bin/env bash
# Call 18 (2026-12-03): issue 12's same-call ratios -- opencl:1 (NVIDIA's OpenCL, opencl.attn.mma)
# beside cuda:0 for attention (bf16, D64 and D128, 8K and 32K, dense and fa-ssa:0.75) and XAttention
# selection on both (fa-xa:0.75, D128, 8K and 32K; CLBlast from .debs) -- and issue 14's batch-1
# decode across split counts (is the policy's choice the fastest?).
set -u
o=$OUT/c18; mkdir -p $o
left() { echo $((560 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
. shared/tools/nvidia-opencl.sh > $o/ocl-env.log 2>&1
. bench/clblast_debs_env.sh >> $o/ocl-env.log 2>&1; echo "clblast_ok=$clblast_ok"
(meson setup build-O -Dcuda=enabled -Dhip=disabled -Dopencl=enabled -Dclblast=enabled -Dnvcc_arch=sm_90a -Dtests=false -Dbench=true >/dev/null && ninja -C build-O -j16) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-60)"
E=build-O/bench/elattn-bench
$E --list > $o/devices.txt 2>&1; grep -E "opencl|cuda" $o/devices.txt | head -4
for k in opencl.attn.mma cuda.attn; do dev=opencl:1; [ $k = cuda.attn ] && dev=cuda:0
  timeout $(lim 80) $E --set paper --device $dev --kernel $k --lens 8192,32768 --mix dense,fa-ssa:0.75 --dtype bf16 --head-dim 64,128 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05 > $o/attn-$k.txt 2>&1
  echo "== $k"; grep -E "^bf16" $o/attn-$k.txt | awk '{print $2, $3, $4, $6, $NF}' | tr '\n' ';'; echo
done
for dev in cuda:0 opencl:1; do
  timeout $(lim 70) $E --set paper --device $dev --lens 8192,32768 --mix fa-xa:0.75 --dtype bf16 --head-dim 128 --no-check --no-router --no-serial --max-reps 3 > $o/xattn-$dev.txt 2>&1
  echo "== xattn $dev"; grep -E "^bf16|XA|xattn" $o/xattn-$dev.txt | head -8 | cut -c1-200
done
D=build-O/bench/elattn-decode-bench
for s in 0 8 16 24 32 48 64; do
  timeout $(lim 40) $D --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch 1 --mix dense --splits $s --max-time 0.3 > $o/decode-splits$s.txt 2>&1
  echo "== splits $s: $(grep -A5 '^results' $o/decode-splits$s.txt | grep -E '^ +[0-9]+ +1 ' | awk '{print $1, $4, $(NF-2)}' | tr '\n' ';')"
done
nvidia-smi > $o/machine.txt 2>&1; clinfo -l >> $o/machine.txt 2>&1
cd $OUT && tar czf c18.tgz c18
