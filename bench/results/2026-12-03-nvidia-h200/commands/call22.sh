#!/usr/bin/env bash
# Call 22 (2026-12-03, second session): A/B of this tree (N) against 9e2fe62 (B, carried as .base/,
# with N's bench/host_overhead.c so that both take the same arguments):
#  - the host work of an attention run without a batch plan (work list built once per tile kind,
#    only the uploaded bytes staged: helper branch h-host-overhead, f5b32b9 e0cd2e6 8729d94);
#  - BLOCK_SPARSE PARTIAL key tiles of the wgmma family masked by row ranges
#    (elattn_block_row_keys) instead of pair by pair;
# plus conformance (wgmma forced, every attention case; memcheck on the quick set) and the
# OpenCL XAttention conformance (every family, --no-isolate) and selection times with the
# measured opencl.xattn.mma tiles.
set -u
o=$OUT/c22; mkdir -p $o
left() { echo $((570 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
. shared/tools/nvidia-opencl.sh > $o/ocl-env.log 2>&1
. bench/clblast_debs_env.sh >> $o/ocl-env.log 2>&1; echo "clblast_ok=$clblast_ok"
git log --oneline -1 > $o/commit.txt 2>&1; git status --short >> $o/commit.txt 2>&1
cfg="-Dcuda=enabled -Dhip=disabled -Dopencl=enabled -Dclblast=enabled -Dnvcc_arch=sm_90a -Dtests=true -Dbench=true"
(meson setup build-N $cfg >/dev/null && ninja -C build-N -j10) > $o/build-N.log 2>&1 &
(cd .base && meson setup build-B -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=false -Dbench=true >/dev/null && ninja -C build-B -j6) > $o/build-B.log 2>&1 &
wait
echo "builds $SECONDS s: N $(tail -1 $o/build-N.log | cut -c1-50) | B $(tail -1 $o/build-B.log | cut -c1-50)"
C=build-N/conformance/elattn-conformance
timeout $(lim 150) $C --backend cuda:0 --kernel cuda.attn.wgmma --exclude xattn/ --exclude router/ --exclude decode --exclude invalid/ > $o/conf-wgmma.txt 2>&1
echo "conformance cuda:0 wgmma: $(tail -1 $o/conf-wgmma.txt)"; grep FAIL $o/conf-wgmma.txt | head -3 | cut -c1-250
timeout $(lim 90) $C --backend opencl:1 --case xattn/ --no-isolate > $o/conf-xattn-opencl1.txt 2>&1
echo "conformance opencl:1 xattn/: $(tail -1 $o/conf-xattn-opencl1.txt), mma rows: $(grep -c 'opencl.xattn.mma' $o/conf-xattn-opencl1.txt)"
grep FAIL $o/conf-xattn-opencl1.txt | head -3 | cut -c1-250
H() { timeout 30 $1/bench/elattn-host-overhead cuda:0 1 $2 200 32 8 $3 2>&1 | tr '\n' ' '; }
for r in 1 2; do for x in "32768 64" "32768 128" "8192 64"; do set -- $x
  echo "host $1 D$2 B: $(H .base/build-B $1 $2)" >> $o/host.txt; echo "host $1 D$2 N: $(H build-N $1 $2)" >> $o/host.txt; done; done
cat $o/host.txt | cut -c1-200
args="--set paper --device cuda:0 --dtype bf16 --head-dim 64,128 --lens 8192,32768 --mix dense,fa-ssa:0.75,fa-ssa:1,fa-xa:0.75 --no-serial --no-router --no-check --max-reps 5 --min-time 0.05"
for r in 1 2; do for v in B N; do b=build-N; [ $v = B ] && b=.base/build-B
  timeout $(lim 90) $b/bench/elattn-bench $args > $o/bench-$v$r.txt 2>&1
  echo "== $v$r: $(grep -E '^bf16' $o/bench-$v$r.txt | awk '{print $2"/"$3"/"$4"="$6}' | tr '\n' ' ')"
done; done
timeout $(lim 60) build-N/bench/elattn-bench --set paper --device opencl:1 --lens 8192,32768 --mix fa-xa:0.75 --dtype bf16 --head-dim 64,128 --no-check --no-router --no-serial --max-reps 3 > $o/xattn-opencl1.txt 2>&1
echo "== opencl:1 XA: $(grep -E '^bf16' $o/xattn-opencl1.txt | awk '{print $2"/"$3"="$(NF-1)}' | tr '\n' ' ')"
timeout $(lim 120) compute-sanitizer --tool memcheck $C --backend cuda:0 --kernel cuda.attn.wgmma --quick --no-isolate > $o/memcheck-wgmma.txt 2>&1
echo "memcheck: $(grep -E 'ERROR SUMMARY' $o/memcheck-wgmma.txt | tail -1) $(grep -E '^conformance:' $o/memcheck-wgmma.txt)"
nvidia-smi > $o/machine.txt 2>&1
cd $OUT && tar czf c22.tgz c22
