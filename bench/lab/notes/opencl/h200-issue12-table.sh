#!/usr/bin/env bash
# One device call (twenty-seventh session; issue 12 "Done means"): opencl:1 beside cuda:0 on an H200,
# from the repository root with `run` (kind nvidia-h200; .debs carried for CLBlast, see
# bench/fetch_clblast_debs.sh):
#   1. one build: CUDA (sm_90a), OpenCL on NVIDIA's driver, CLBlast from .debs when it loads;
#   2. conformance on opencl:1, the quick set, every family of the device forced in turn;
#   3. elattn-bench, bf16, 8K and 32K, D64 then D128: opencl:1 with no kernel named (the tile
#      table's rows), cuda:0, opencl:1 again; dense, fa-ssa:0.75 and fa-ssa:0.5;
#   4. XAttention selection (fa-xa:0.75's XA-est column), D128, 8K and 32K: opencl:1's default
#      family, opencl.xattn.clblast when it was built, cuda:0.
# Refuses any GPU but an H200 (exit 3) unless ANY_GPU=1. BUDGET_S (default 540) bounds the whole.
# Output: $OUT/t12/t12.txt (the summary, also on stdout) and each run's raw output.
set -u
[ "${ANY_GPU:-0}" = 1 ] || nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200 || {
  echo "not an H200: $(nvidia-smi --query-gpu=name --format=csv,noheader)"; exit 3; }
o=$OUT/t12; mkdir -p $o; f=$o/t12.txt
export TMPDIR=$(mktemp -d) # outside $OUT: the device tool brings back a limited number of files
: > $f; tail -f $f & tailpid=$!
left() { echo $((${BUDGET_S:-540} - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
{ . shared/tools/nvidia-opencl.sh; . bench/clblast_debs_env.sh; } > $o/env.log 2>&1
echo "$(nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader); clblast_ok=$clblast_ok; $(git log -1 --format=%h 2>/dev/null)" >> $f
cl=disabled; [ "$clblast_ok" = 1 ] && cl=enabled
(meson setup build-t12 -Dcuda=enabled -Dopencl=enabled -Dhip=disabled -Dclblast=$cl -Dnvcc_arch=sm_90a -Dbench=true \
  -Dtests=true > /dev/null && ninja -C build-t12 -j16 elattn-libs conformance/elattn-conformance bench/elattn-bench) \
  > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-80)" >> $f
timeout $(lim 120) build-t12/conformance/elattn-conformance --backend opencl:1 --quick --no-isolate > $o/conf.txt 2>&1
echo "conf opencl:1 --quick (rc $?): $(tail -1 $o/conf.txt)" >> $f
grep -E " FAIL | ERROR " $o/conf.txt | head -4 | cut -c1-300 >> $f
bn() { # bn DEVICE D [extra elattn-bench options]: one line of the summary per run
  local dev=$1 d=$2 n; shift 2
  n=bench-${dev%%:*}-d$d; [ -f $o/$n.txt ] && n=$n-2
  [ "$(left)" -lt 20 ] && { echo "$n: skipped (time)" >> $f; return; }
  timeout $(lim 60) build-t12/bench/elattn-bench --device $dev --set paper --lens 8192,32768 --dtype bf16 --head-dim $d \
    --no-check --no-router --no-serial --max-reps 5 --min-time 0.05 "$@" > $o/$n.txt 2>&1
  echo "$n (rc $?): $(grep -E '^bf16' $o/$n.txt | awk '{print $3"/"$4"="$6}' | tr '\n' ' ')" \
    "$(grep -E '^bf16' $o/$n.txt | awk '{print $NF}' | sort -u | tr '\n' ' ')" >> $f
}
for d in 64 128; do
  bn opencl:1 $d --mix dense,fa-ssa:0.75,fa-ssa:0.5
  bn cuda:0 $d --mix dense,fa-ssa:0.75,fa-ssa:0.5
  bn opencl:1 $d --mix dense,fa-ssa:0.75,fa-ssa:0.5
done
xa() { # xa DEVICE [--xattn-kernel NAME]
  local n=xa-${1%%:*}${3:+-${3##*.}}
  [ "$(left)" -lt 20 ] && { echo "$n: skipped (time)" >> $f; return; }
  timeout $(lim 60) build-t12/bench/elattn-bench --device $1 "${@:2}" --set paper --lens 8192,32768 --dtype bf16 \
    --head-dim 128 --mix fa-xa:0.75 --no-check --no-router --no-serial --max-reps 3 > $o/$n.txt 2>&1
  echo "$n (rc $?): $(grep -E '^bf16' $o/$n.txt | awk '{print $3"/"$4" ms="$6" XA-est="$(NF-1)}' | tr '\n' ' ')" >> $f
}
xa opencl:1; [ "$cl" = enabled ] && xa opencl:1 --xattn-kernel opencl.xattn.clblast; xa cuda:0
echo "end $SECONDS s" >> $f
sleep 1; kill $tailpid
