#!/usr/bin/env bash
# Call 25 (2026-12-03, third session): issue 12 goal 1 -- the OpenCL mma attention kernel with the
# next key tile's K and V fetched into registers while the current tile is computed (N, the working
# tree) against HEAD without it (B, carried as .base/): conformance of opencl.attn.mma on opencl:1,
# B N B N on opencl:1, the tuner's candidates with the new kernel, and cuda:0 in the same call.
set -u
o=$OUT/c25; mkdir -p $o
left() { echo $((570 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
. shared/tools/nvidia-opencl.sh > $o/ocl-env.log 2>&1
git log --oneline -1 > $o/commit.txt 2>&1; git status --short >> $o/commit.txt 2>&1
(meson setup build-N -Dcuda=enabled -Dhip=disabled -Dopencl=enabled -Dclblast=disabled -Dnvcc_arch=sm_90a -Dtests=true -Dbench=true >/dev/null && ninja -C build-N -j12) > $o/build-N.log 2>&1 &
(cd .base && meson setup build-B -Dcuda=disabled -Dhip=disabled -Dopencl=enabled -Dclblast=disabled -Dtests=false -Dbench=true >/dev/null && ninja -C build-B -j4) > $o/build-B.log 2>&1 &
wait
echo "builds $SECONDS s: N $(tail -1 $o/build-N.log | cut -c1-40) | B $(tail -1 $o/build-B.log | cut -c1-40)"
timeout $(lim 100) build-N/conformance/elattn-conformance --backend opencl:1 --kernel opencl.attn.mma --exclude xattn/ --exclude router/ --exclude decode --no-isolate > $o/conf-attn-mma.txt 2>&1
echo "conformance opencl:1 attn.mma: $(tail -1 $o/conf-attn-mma.txt)"; grep FAIL $o/conf-attn-mma.txt | head -3 | cut -c1-250
args="--set paper --kernel opencl.attn.mma --lens 8192,32768 --mix dense,fa-ssa:0.75 --dtype bf16 --head-dim 64,128 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05"
for r in 1 2; do for v in B N; do b=build-N; [ $v = B ] && b=.base/build-B
  timeout $(lim 60) $b/bench/elattn-bench --device opencl:1 $args > $o/bench-$v$r.txt 2>&1
  echo "== $v$r: $(grep -E '^bf16' $o/bench-$v$r.txt | awk '{print $2"/"$3"/"$4"="$6}' | tr '\n' ' ') $(grep -E '^bf16' $o/bench-$v$r.txt | awk '{print $NF}' | sort -u | tr '\n' ' ')"
done; done
timeout $(lim 40) build-N/bench/elattn-bench --device cuda:0 --set paper --kernel cuda.attn --lens 8192,32768 --mix dense,fa-ssa:0.75 --dtype bf16 --head-dim 64,128 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05 > $o/bench-cuda.txt 2>&1
echo "== cuda: $(grep -E '^bf16' $o/bench-cuda.txt | awk '{print $2"/"$3"/"$4"="$6}' | tr '\n' ' ')"
timeout $(lim 70) build-N/bench/elattn-opencl-tune --device opencl:1 --family mma --head-dims 64,128 --budget 25 > $o/tune-mma.txt 2>&1
echo "tune: $(grep -E '^ *\{' $o/tune-mma.txt | tr '\n' ' ' | cut -c1-600)"
nvidia-smi > $o/machine.txt 2>&1
cd $OUT && tar czf c25.tgz c25
