#!/usr/bin/env bash
# One device call (eighteenth session, issue 14): the decode step's time for fixed chunk lengths
# against the split policy's choice, so that the policy's model can be checked against measured
# times rather than its own prediction. Run from the repository root with `run`:
#   1. chunk-slots-env.patch (this folder) is applied to the device's copy of the tree: it adds
#      ELATTN_DECODE_CHUNK_SLOTS (every head cut into chunks of that many slots; not in the
#      library); the CUDA build (build-cu: the backends and elattn-decode-bench).
#      (call 128 ran the patch's first form, written for 3bf5e4c's policy: bench/results/
#      2026-12-06-nvidia-h100/call128-decode-chunk-sweep/chunk-slots-env-3bf5e4c.patch)
#   2. elattn-decode-bench, bf16 D 128, Hq 32 / Hkv 8, read flush, for each chunk length C in
#      CHUNKS (auto: the policy) over 8K / 32K x batch 1 / 16 / 64 and 128K x batch 1 / 16, dense
#      and fa-ssa:0.5 / 0.75, one process per (C, context group).
# PATCH (default chunk-slots-env.patch; chunk-slots-env-grid.patch on trees with the grid model),
# DEVICE (default cuda:0; opencl:1 builds the OpenCL backend alone and registers NVIDIA's OpenCL
# driver), LONG=0 (skips the 128K processes) and CHUNKS pick what runs.
# Output in $OUT/cs: cs.txt (the summary: one line per step "C len batch mix us"), the raw tables.
set -u
o=$OUT/cs; mkdir -p $o; f=$o/cs.txt
: > $f; tail -f $f & tailpid=$!
left() { echo $((${BUDGET_S:-540} - SECONDS)); }
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader >> $f 2>&1
git apply ${PATCH:-bench/lab/notes/decode/chunk-slots-env.patch} >> $f 2>&1 || echo "patch failed" >> $f
dev=${DEVICE:-cuda:0}
backends="-Dcuda=enabled -Dopencl=disabled -Dnvcc_arch=sm_90a"
if [ "${dev%%:*}" = opencl ]; then
  backends="-Dcuda=disabled -Dopencl=enabled -Dclblast=disabled"
  . shared/tools/nvidia-opencl.sh > $o/ocl-env.log 2>&1
fi
(meson setup build-cu $backends -Dhip=disabled -Dbench=true -Dtests=false \
  >/dev/null && ninja -C build-cu -j14 elattn-libs bench/elattn-decode-bench) > $o/build.log 2>&1
echo "build rc=$? at $SECONDS s: $(tail -1 $o/build.log | cut -c1-100)" >> $f
B=build-cu/bench/elattn-decode-bench
run() { # run C TAG LENS BATCHES
  local n=$o/c$1-$2.txt
  [ "$(left)" -lt 25 ] && { echo "C=$1 $2: skipped (time)" >> $f; return; }
  if [ "$1" = auto ]; then unset ELATTN_DECODE_CHUNK_SLOTS; else export ELATTN_DECODE_CHUNK_SLOTS=$1; fi
  timeout 60 $B --device $dev --head-dim 128 --dtype bf16 --lens $3 --batch $4 --mix dense,fa-ssa:0.5,fa-ssa:0.75 \
    --flush read --max-time 0.12 > $n 2>&1
  local rc=$?
  sed -n '/^results/,$p' $n | grep -E '^ +[0-9]' | awk -v c=$1 '{print "C=" c, $1, $2, $3, $4}' >> $f
  [ $rc = 0 ] || echo "C=$1 $2: rc $rc $(tail -2 $n | tr '\n' ' ' | cut -c1-200)" >> $f
  unset ELATTN_DECODE_CHUNK_SLOTS
}
for C in ${CHUNKS:-auto 256 512 1024 2048 2176 3072 4096 8192 16384 32768 131072}; do
  run $C short 8192,32768 1,16,64
  [ "${LONG:-1}" = 1 ] && run $C long 131072 1,16
done
echo "end $SECONDS s" >> $f
sleep 1; kill $tailpid
