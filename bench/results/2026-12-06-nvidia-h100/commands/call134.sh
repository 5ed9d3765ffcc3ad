#!/usr/bin/env bash
# One device call (eighteenth session, issue 12): the OpenCL wgmma family with its tile loop's
# per-tile opaque() of the copies' lane values removed (wgmma-no-opaque.patch, this folder: clang
# then hoists the copy addresses out of the loop, 191 -> 221 registers, still one work-group an SM)
# against this tree, from the repository root with `run`:
#   1. two OpenCL-only builds: A (this tree, build-ocl-a) and B (a copy with the patch, with the
#      conformance runner);
#   2. elattn-bench on opencl:1 with opencl.attn.wgmma forced, bf16 D 128, 8K / 32K, dense and
#      fa-ssa:0.75, A B A B; D 64 A B;
#   3. B's conformance with the family forced (attention cases, --no-isolate).
# Output in $OUT/np: np.txt (summary), the raw outputs.
set -u
o=$OUT/np; mkdir -p $o/tmp; f=$o/np.txt
export TMPDIR=$o/tmp
: > $f; tail -f $f & tailpid=$!
left() { echo $((${BUDGET_S:-300} - SECONDS)); }
. shared/tools/nvidia-opencl.sh > $o/ocl-env.log 2>&1
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader >> $f 2>&1
b=/tmp/tree-b; rm -rf $b; mkdir -p $b
tar cf - --exclude='./build*' . | tar xf - -C $b; (cd $b && git apply bench/lab/notes/mma/wgmma-no-opaque.patch) >> $f 2>&1 ||
  (cd $b && patch -p1 < bench/lab/notes/mma/wgmma-no-opaque.patch) >> $f 2>&1
grep -c "opaque(&lid_t)" $b/kernels/opencl/attn_wgmma.cl >> $f
ocl="-Dcuda=disabled -Dopencl=enabled -Dhip=disabled -Dclblast=disabled -Dbench=true"
(meson setup build-ocl-a $ocl -Dtests=false >/dev/null && ninja -C build-ocl-a -j8 elattn-libs bench/elattn-bench) \
  > $o/build-a.log 2>&1 &
apid=$!
(cd $b && meson setup build-ocl-b $ocl -Dtests=true >/dev/null &&
  ninja -C build-ocl-b -j8 elattn-libs bench/elattn-bench conformance/elattn-conformance) > $o/build-b.log 2>&1
echo "build B rc=$? at $SECONDS s" >> $f; wait $apid; echo "build A rc=$? at $SECONDS s" >> $f
r() { # r SIDE D LENS
  local bin=build-ocl-a/bench/elattn-bench n=$o/bench-$1-d$2.txt
  [ $1 = B ] && bin=$b/build-ocl-b/bench/elattn-bench
  [ -f $n ] && n=$o/bench-$1-d$2-2.txt
  [ "$(left)" -lt 30 ] && { echo "bench $1 d$2: skipped (time)" >> $f; return; }
  timeout 60 $bin --device opencl:1 --kernel opencl.attn.wgmma --set paper --lens $3 --mix dense,fa-ssa:0.75 --dtype bf16 \
    --head-dim $2 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05 > $n 2>&1
  echo "bench $1 d$2 (rc $?): $(grep -E '^bf16' $n | awk '{print $3"/"$4"="$6}' | tr '\n' ' ')" >> $f
}
for s in A B A B; do r $s 128 8192,32768; done
for s in A B; do r $s 64 8192; done
if [ "$(left)" -gt 40 ]; then
  timeout $(( $(left) - 10 )) $b/build-ocl-b/conformance/elattn-conformance --backend opencl:1 --no-isolate \
    --exclude xattn/ --exclude router/ --exclude invalid/ --exclude decode/ --kernel opencl.attn.wgmma > $o/conf-b.txt 2>&1
  echo "conf B wgmma (rc $?): $(tail -1 $o/conf-b.txt)" >> $f
fi
echo "end $SECONDS s" >> $f
sleep 1; kill $tailpid
