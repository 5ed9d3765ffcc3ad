#!/usr/bin/env bash
# One device call (eighteenth session, issue 14): issue 14's decode table with the bandwidth split
# policy (bench/decode_sweep.sh: ours and the torch peers on the same cache contents, joined), then
# the OpenCL decode on NVIDIA's driver (opencl:1), A (3bf5e4c's policy, from ab-old/: made before the
# call, mkdir ab-old && git show 3bf5e4c:api/src/decode_policy.c > ab-old/decode_policy.c) against B
# (this tree), A B A B: the OpenCL decode takes the same chunk counts through another grid.
# Run from the repository root with `run`. Output in $OUT/dt: dt.txt (summary), the sweep's folder.
set -u
o=$OUT/dt; mkdir -p $o; f=$o/dt.txt
: > $f; tail -f $f & tailpid=$!
left() { echo $((${BUDGET_S:-570} - SECONDS)); }
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader >> $f 2>&1
. shared/tools/nvidia-opencl.sh > $o/ocl-env.log 2>&1
a=/tmp/tree-a; rm -rf $a; mkdir -p $a
tar cf - --exclude='./build*' --exclude=./ab-old . | tar xf - -C $a; cp ab-old/decode_policy.c $a/api/src/decode_policy.c
ocl="-Dcuda=disabled -Dopencl=enabled -Dhip=disabled -Dclblast=disabled -Dbench=true -Dtests=false"
(cd $a && meson setup build-a $ocl >/dev/null && ninja -C build-a -j4 elattn-libs bench/elattn-decode-bench) > $o/build-a.log 2>&1 &
apid=$!
meson setup build-dec -Dcuda=enabled -Dhip=disabled -Dopencl=enabled -Dclblast=disabled -Dnvcc_arch=sm_90a -Dtests=false \
  -Dbench=true > $o/setup.log 2>&1
FLUSH=read OURS_ARGS="--flush read --max-time 0.3" TOTAL_BUDGET_S=330 BUILD_DIR=build-dec bash bench/decode_sweep.sh $o/table \
  > $o/sweep.log 2>&1
echo "sweep rc=$? at $SECONDS s" >> $f
grep -E "^\| (8192|32768|131072) \| " $o/table/decode_table.md | cut -d'|' -f2-5,9-13 >> $f 2>&1
wait $apid; echo "build A (OpenCL) rc=$? at $SECONDS s" >> $f
r() { # r SIDE BIN
  [ "$(left)" -lt 25 ] && { echo "ocl $1: skipped (time)" >> $f; return; }
  local n=$o/ocl-$1.txt; [ -f $n ] && n=$o/ocl-$1-2.txt
  timeout 60 $2 --device opencl:1 --head-dim 128 --dtype bf16 --flush read --max-time 0.15 --lens 8192,32768 --batch 1,16,64 \
    --mix fa-ssa:0.5,fa-ssa:0.75 > $n 2>&1
  local rc=$?
  sed -n '/^results/,$p' $n | grep -E '^ +[0-9]' | awk -v t="ocl-$1" '{print t, $1, $2, $3, $4, $NF}' >> $f
  [ $rc = 0 ] || echo "ocl $1: rc $rc $(tail -2 $n | tr '\n' ' ' | cut -c1-200)" >> $f
}
for s in A B A B; do
  if [ $s = A ]; then r A $a/build-a/bench/elattn-decode-bench; else r B build-dec/bench/elattn-decode-bench; fi
done
echo "end $SECONDS s" >> $f
sleep 1; kill $tailpid
