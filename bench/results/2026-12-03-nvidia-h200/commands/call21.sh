#!/usr/bin/env bash
# Call 21 (2026-12-03, second session): issue 12 goal 3 -- the new opencl.xattn.mma family
# (XAttention estimation in tensor cores from OpenCL) on NVIDIA's driver: conformance of every
# OpenCL XAttention family on opencl:1, a tile sweep with elattn-lab-xattn (each checked against
# the reference at --check-len 1024, then timed at full size), and elattn-bench's XAttention
# selection times on opencl:1 (mma, and clblast forced) beside cuda:0 in the same call.
set -u
o=$OUT/c21; mkdir -p $o
left() { echo $((560 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
. shared/tools/nvidia-opencl.sh > $o/ocl-env.log 2>&1
. bench/clblast_debs_env.sh >> $o/ocl-env.log 2>&1; echo "clblast_ok=$clblast_ok"
git log --oneline -1 > $o/commit.txt 2>&1; git status --short >> $o/commit.txt 2>&1
(meson setup build-O -Dcuda=enabled -Dhip=disabled -Dopencl=enabled -Dclblast=enabled -Dnvcc_arch=sm_90a -Dtests=true -Dbench=true -Dlab=true >/dev/null && ninja -C build-O -j16) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-60)"
C=build-O/conformance/elattn-conformance
timeout $(lim 120) $C --backend opencl:1 --case xattn/ > $o/conf-xattn-opencl1.txt 2>&1
echo "conformance opencl:1 xattn/: $(tail -1 $o/conf-xattn-opencl1.txt)"; grep -c "opencl.xattn.mma" $o/conf-xattn-opencl1.txt
grep -E "FAIL" $o/conf-xattn-opencl1.txt | head -5 | cut -c1-300
L=build-O/bench/lab/elattn-lab-xattn
sweep() { # device kernel d tiles...
  local dev=$1 k=$2 d=$3; shift 3
  for t in "$@"; do
    timeout $(lim 40) $L --device $dev --kernel $k --head-dim $d --lq 32k --check-len 1024 --warmup 1 --iters 5 --tiles $t >> $o/lab-$dev-d$d.txt 2>&1
    tail -1 $o/lab-$dev-d$d.txt | tr ' ' '\n' | grep -E "^(status|kernel|ms|ms_min|differ|rows_wrong)=" | tr '\n' ' '; echo
  done
}
sweep opencl:1 opencl.xattn.mma 128 0,0,0 64,128,128 64,64,128 128,32,256 128,64,128 64,32,128 128,128,256
sweep opencl:1 opencl.xattn.mma 64 0,0,0 128,64,256 256,64,256 64,128,128 128,128,128 128,256,256
sweep opencl:1 opencl.xattn.clblast 128 0,0,0
sweep cuda:0 cuda.xattn 128 0,0,0
sweep cuda:0 cuda.xattn 64 0,0,0
E=build-O/bench/elattn-bench
for x in "opencl:1 opencl.xattn.mma" "opencl:1 opencl.xattn.clblast" "cuda:0 cuda.xattn"; do set -- $x
  timeout $(lim 80) $E --set paper --device $1 --xattn-kernel $2 --lens 8192,32768 --mix fa-xa:0.75 --dtype bf16 --head-dim 64,128 --no-check --no-router --no-serial --max-reps 3 > $o/bench-$2.txt 2>&1
  echo "== $2"; grep -E "^bf16" $o/bench-$2.txt | awk '{print $2, $3, $6, $(NF-1)}' | tr '\n' ';'; echo
done
nvidia-smi > $o/machine.txt 2>&1; clinfo -l >> $o/machine.txt 2>&1
cd $OUT && tar czf c21.tgz c21
