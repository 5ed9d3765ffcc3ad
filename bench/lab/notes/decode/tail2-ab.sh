#!/usr/bin/env bash
# One device call (twentieth session, issue 14): the shared tail's later forms against the kernel
# without it, built side by side. PATCH names the form applied to the working tree (default
# shared-tail-3.patch): shared-tail-2.patch walks the static share with the loop the kernel had
# before the pool and the share's last STAGES + 1 tiles and the pool's in a second loop;
# shared-tail-3.patch also makes each claim a tile earlier and stores it a tile later, before
# the tile's copies, and keeps the no-pool split free of the pooled split's division.
# Run from the repository root with the patch applied (the working tree); the tree without it is
# built from a copy with the patch taken out again. In order:
#   1. both builds at once (CUDA backend; the patched one with the conformance runner);
#   2. resource usage and SASS of the bf16 D 128 chunk kernel of both (cuobjdump);
#   3. the conformance decode group, cuda.decode.mma forced, pool 1 tile a chunk;
#   4. elattn-decode-bench, bf16 D 128, read flush, batch 1 at 8K / 32K / 128K, dense and
#      fa-ssa:0.75: base, patched with no pool (P0) and with the default pool (P4), twice;
#   5. torch's best SDPA path at batch 1 dense (bench/decode_peers.py);
#   6. batch 16 at 8K / 32K, base / P0 / P4; the default-pool conformance group; ncu of 128K x 1
#      dense for base and P0 if time is left.
# Output: $OUT/t2.txt (summary: "tag len batch mix us") and $OUT/t2.tgz (every raw output, the SASS).
set -u
o=$OUT/t2; mkdir -p $o; f=$o/t2.txt
: > $f; tail -f $f & tailpid=$!
left() { echo $((${BUDGET_S:-560} - SECONDS)); }
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader >> $f 2>&1
base=$PWD/../elattn-base
[ -f $base/build-base/build.ninja ] || { rm -rf $base; mkdir -p $base
tar --exclude='./build-*' --exclude=./shared -cf - . | tar -xf - -C $base
(cd $base && git apply -R bench/lab/notes/decode/${PATCH:-shared-tail-3.patch}) >> $f 2>&1 || echo "base: patch not reversed" >> $f
}
grep -c claims $base/kernels/gpu/launch.h kernels/gpu/launch.h >> $f
opts="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true"
(cd $base && { [ -f build-base/build.ninja ] || meson setup build-base $opts -Dtests=false >/dev/null; } && ninja -C build-base -j8 elattn-libs bench/elattn-decode-bench) \
  > $o/build-base.log 2>&1 &
basepid=$!
({ [ -f build-v2/build.ninja ] || meson setup build-v2 $opts -Dtests=true >/dev/null; } && ninja -C build-v2 -j8 elattn-libs conformance/elattn-conformance \
  bench/elattn-decode-bench) > $o/build-v2.log 2>&1
echo "build v2 rc=$? at $SECONDS s: $(tail -1 $o/build-v2.log | cut -c1-80)" >> $f
wait $basepid
echo "build base at $SECONDS s: $(tail -1 $o/build-base.log | cut -c1-80)" >> $f
fn=_ZN11elattn_cuda10decode_mma12chunk_kernelI13__nv_bfloat16Li2ELi128EEEvNS_13decode_inputsE
mkdir -p $o/sass
for b in $base/build-base build-v2; do
  t=$(basename $b); lib=$(ls $b/api/src/libelattn-cuda.so* 2>/dev/null | head -1)
  cuobjdump -res-usage -fun $fn $lib > $o/sass/$t-res.txt 2>&1
  cuobjdump -sass -fun $fn $lib > $o/sass/$t.sass 2>&1
  echo "$t: $(grep -E 'REG|SHARED' $o/sass/$t-res.txt | head -2 | tr -s ' ' | tr '\n' ' ') sass lines $(grep -c '/\*[0-9a-f]*\*/' $o/sass/$t.sass)" >> $f
done
C=build-v2/conformance/elattn-conformance
conf() { # conf POOL (or "default")
  local env_pool=(); [ $1 = default ] || env_pool=(ELATTN_DECODE_POOL_TILES=$1)
  env "${env_pool[@]}" timeout 120 $C --backend cuda:0 --case decode/ --kernel cuda.decode.mma --no-isolate \
    > $o/conf-pool$1.txt 2>&1
  echo "conf pool $1 (rc $?): $(tail -1 $o/conf-pool$1.txt)" >> $f
  grep -E " FAIL | ERROR " $o/conf-pool$1.txt | head -4 | cut -c1-300 >> $f
}
conf 1
r() { # r TAG BUILD POOL ARGS...
  local tag=$1 b=$2 pool=$3; shift 3
  local n=$o/$tag.txt
  [ "$(left)" -lt 40 ] && { echo "$tag: skipped (time)" >> $f; return; }
  ELATTN_DECODE_POOL_TILES=$pool timeout 60 $b/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 \
    --flush read --max-time 0.15 "$@" > $n 2>&1
  local rc=$?
  sed -n '/^results/,$p' $n | grep -E '^ +[0-9]' | awk -v t="$tag" '{print t, $1, $2, $3, $4}' >> $f
  [ $rc = 0 ] || echo "$tag: rc $rc $(tail -2 $n | tr '\n' ' ' | cut -c1-200)" >> $f
}
bs1="--lens 8192,32768,131072 --batch 1 --mix dense,fa-ssa:0.75"
for round in 1 2; do
  r base-$round $base/build-base 0 $bs1
  r p0-$round build-v2 0 $bs1
  r p4-$round build-v2 4 $bs1
  r p8-$round build-v2 8 $bs1
done
mkdir -p $o/peers
if [ "$(left)" -gt 100 ]; then
  LENS=8192,32768,131072 BATCHES=1 MIXES=dense FLUSH=read BUDGET_S=60 \
    timeout 90 python3 bench/decode_peers.py --out $o/peers > $o/peers/peers.log 2>&1
  echo "peers rc=$?" >> $f; grep -E "^ *(8192|32768|131072) " $o/peers/peers.log | grep -v -E "refused|skipped" | cut -c1-110 | head -20 >> $f
fi
bs16="--lens 8192,32768 --batch 16 --mix dense,fa-ssa:0.75"
r base-16 $base/build-base 0 $bs16
r p0-16 build-v2 0 $bs16
r p4-16 build-v2 4 $bs16
[ "$(left)" -gt 60 ] && conf default
c=decode/bf16/d128/h8:2/L700,2600,40,3000 # a case whose cut heads share at pool 1
san=$o/san-racecheck-${c//[\/:,]/_}.txt
if [ "$(left)" -ge 50 ]; then
  ELATTN_DECODE_POOL_TILES=1 timeout $(( $(left) - 10 )) compute-sanitizer --tool racecheck --error-exitcode 9 $C \
    --backend cuda:0 --case $c --kernel cuda.decode.mma --no-isolate > $san 2>&1
  echo "racecheck $c (rc $?): $(grep -E 'RACECHECK SUMMARY|conformance:' $san | tr '\n' ' ')" >> $f
fi
for t in base p0; do
  [ "$(left)" -lt 45 ] && break
  b=build-v2; [ $t = base ] && b=$base/build-base
  ELATTN_DECODE_POOL_TILES=0 timeout 40 ncu --clock-control none --kernel-name regex:chunk_kernel --launch-skip 3 --launch-count 1 \
    --section SpeedOfLight --section Occupancy --section LaunchStats --section WarpStateStats \
    $b/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens 131072 --batch 1 --mix dense \
    --max-time 0.05 > $o/ncu-$t.txt 2>&1
  echo "ncu $t: $(grep -E 'Duration|DRAM Throughput|Achieved Occupancy|Registers Per|Block Limit Shared|Stall Long' $o/ncu-$t.txt | tr -s ' ' | tr '\n' ';' | cut -c1-400)" >> $f
done
echo "end $SECONDS s" >> $f
sleep 1; kill $tailpid
# the call brings back a few files: the summary beside one archive of everything
cp $f $OUT/t2.txt; tar czf $OUT/t2.tgz -C $OUT t2 && rm -rf $o
