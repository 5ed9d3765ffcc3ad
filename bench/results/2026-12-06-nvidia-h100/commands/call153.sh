# call 153, run with the device tool as: BUDGET_S=200 bash bench/lab/notes/decode/grid-model-ab.sh (kind nvidia-h100-x1, the machine warm after call 153's refused first command)
#!/usr/bin/env bash
# One device call (twenty-second session, issue 14): the split policy's grid model for the OpenCL
# tiled decode (fitted to call 133's sweep), A (main at 6045c63: the waves model) against B (this
# tree), on NVIDIA's OpenCL driver (opencl:1), from the repository root with `run`. A's files come
# in ab-old/ (made before the call, not committed: for f in api/src/backend.h
# api/src/decode_policy.c api/src/decode_policy.h backends/opencl/opencl_decode.c; do mkdir -p
# ab-old/$(dirname $f); git show 6045c63:$f > ab-old/$f; done); A's tree is this one with them in
# place, built beside B's (OpenCL backend alone).
#   1. conformance, B: the decode group with opencl.decode.tiled and opencl.decode.scalar forced
#      (--no-isolate: isolated workers do not see NVIDIA's OpenCL platform);
#   2. elattn-decode-bench, bf16 D 128, Hq 32 / Hkv 8, read flush, opencl:1:
#        ins     8K / 32K x 1 / 16 / 64, dense, fa-ssa:0.5 / 0.75 (the fitted shapes), A B A B
#        long    128K x 1 / 16, the same mixes (not fitted), A B
#        new     16K / 64K x 4 / 32, fa-ssa:0.25 / 0.5 / 0.75 (not fitted), A B
#        d64     D 64, 8K / 32K x 16 / 64, fa-ssa:0.5 / 0.75 (not fitted), A B
# Output in $OUT/gm: gm.txt (one line per step: "TAG-SIDE len batch mix us splits=N"), raw outputs.
set -u
o=$OUT/gm; mkdir -p $o; f=$o/gm.txt
: > $f; tail -f $f & tailpid=$!
left() { echo $((${BUDGET_S:-570} - SECONDS)); }
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader >> $f 2>&1
. shared/tools/nvidia-opencl.sh > $o/ocl-env.log 2>&1
setup="-Dcuda=disabled -Dhip=disabled -Dopencl=enabled -Dclblast=disabled -Dbench=true"
(meson setup build-b $setup -Dtests=true >/dev/null &&
  ninja -C build-b -j8 elattn-libs conformance/elattn-conformance bench/elattn-decode-bench) > $o/build-b.log 2>&1 &
bpid=$!
a=/tmp/tree-a; rm -rf $a; mkdir -p $a
tar cf - --exclude='./build*' --exclude=./ab-old . | tar xf - -C $a; (cd ab-old && tar cf - .) | tar xf - -C $a
(cd $a && meson setup build-a $setup -Dtests=false >/dev/null && ninja -C build-a -j8 elattn-libs bench/elattn-decode-bench) \
  > $o/build-a.log 2>&1
echo "build A rc=$? at $SECONDS s: $(tail -1 $o/build-a.log | cut -c1-80)" >> $f
wait $bpid; echo "build B rc=$? at $SECONDS s: $(tail -1 $o/build-b.log | cut -c1-80)" >> $f
C=build-b/conformance/elattn-conformance
for fam in opencl.decode.tiled opencl.decode.scalar; do
  timeout 100 $C --backend opencl:1 --case decode/ --kernel $fam --no-isolate > $o/conf-$fam.txt 2>&1
  echo "conf $fam (rc $?): $(tail -1 $o/conf-$fam.txt)" >> $f
  grep -E " FAIL | ERROR " $o/conf-$fam.txt | head -4 | cut -c1-300 >> $f
done
r() { # r TAG SIDE ARGS...
  local tag=$1 side=$2; shift 2
  local bin=build-b/bench/elattn-decode-bench n=$o/$tag-$side.txt
  [ $side = A ] && bin=$a/build-a/bench/elattn-decode-bench
  [ -f $n ] && n=$o/$tag-$side-2.txt
  [ "$(left)" -lt 30 ] && { echo "$tag $side: skipped (time)" >> $f; return; }
  timeout 70 $bin --device opencl:1 --dtype bf16 --flush read --max-time 0.12 "$@" > $n 2>&1
  local rc=$?
  sed -n '/^results/,$p' $n | grep -E '^ +[0-9]' | awk -v t="$tag-$side" '{print t, $1, $2, $3, $4, "splits=" $(NF-2)}' >> $f
  [ $rc = 0 ] || echo "$tag $side: rc $rc $(tail -2 $n | tr '\n' ' ' | cut -c1-200)" >> $f
}
M3=dense,fa-ssa:0.5,fa-ssa:0.75
for s in A B A B; do r ins $s --head-dim 128 --lens 8192,32768 --batch 1,16,64 --mix $M3; done
for s in A B; do r long $s --head-dim 128 --lens 131072 --batch 1,16 --mix $M3; done
for s in A B; do r new $s --head-dim 128 --lens 16384,65536 --batch 4,32 --mix fa-ssa:0.25,fa-ssa:0.5,fa-ssa:0.75; done
for s in A B; do r d64 $s --head-dim 64 --lens 8192,32768 --batch 16,64 --mix fa-ssa:0.5,fa-ssa:0.75; done
echo "end $SECONDS s" >> $f
sleep 1; kill $tailpid
