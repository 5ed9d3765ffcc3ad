#!/usr/bin/env bash
# One device call (nineteenth session, issue 14): the tensor-core decode's shared tail
# (elattn_decode_split_pooled: a cut head's chunks take its last tiles from a counter), from the
# repository root with `run`:
#   1. one build (CUDA backend, conformance runner, decode benchmark);
#   2. the conformance decode group on cuda:0 with cuda.decode.mma forced, the pool at 1 tile a chunk
#      (ELATTN_DECODE_POOL_TILES=1: most small cases share);
#   3. elattn-decode-bench in one binary, the pool set per process (0: every chunk static, as before),
#      bf16 D 128, read flush: batch 1 at 8K / 32K / 128K, dense and fa-ssa:0.5 / 0.75, pools
#      0 4 8, twice in that order; then torch's best SDPA at batch 1 dense (bench/decode_peers.py);
#   4. the conformance group at the default pool, compute-sanitizer racecheck on a shared case;
#   5. as time allows: batch 16 / 64, dense and fa-ssa:0.75, pools 0 4; D 64 at 32K / 128K x 1 / 16,
#      dense and fa-ssa:0.75, pools 0 4; 128K x 1 dense with 16 chunks a head (--splits), pools 0 8.
# Output in $OUT/pool: pool.txt (summary: "bs1-P<pool> len batch mix us"), the raw outputs.
# The tree without the shared tail (main since the nineteenth session) gets it from
# shared-tail.patch first (written against 29d390e).
set -u
o=$OUT/pool; mkdir -p $o; f=$o/pool.txt
: > $f; tail -f $f & tailpid=$!
grep -q elattn_decode_split_pooled kernels/elattn_spec.h ||
  { git apply bench/lab/notes/decode/shared-tail.patch && echo "applied shared-tail.patch" >> $f; }
left() { echo $((${BUDGET_S:-570} - SECONDS)); }
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader >> $f 2>&1
(meson setup build-pool -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=true -Dbench=true \
  >/dev/null && ninja -C build-pool -j16 elattn-libs conformance/elattn-conformance bench/elattn-decode-bench) \
  > $o/build.log 2>&1
echo "build rc=$? at $SECONDS s: $(tail -1 $o/build.log | cut -c1-80)" >> $f
C=build-pool/conformance/elattn-conformance
conf() { # conf POOL (or "default")
  local env_pool=(); [ $1 = default ] || env_pool=(ELATTN_DECODE_POOL_TILES=$1)
  env "${env_pool[@]}" timeout 120 $C --backend cuda:0 --case decode/ --kernel cuda.decode.mma --no-isolate \
    > $o/conf-pool$1.txt 2>&1
  echo "conf pool $1 (rc $?): $(tail -1 $o/conf-pool$1.txt)" >> $f
  grep -E " FAIL | ERROR " $o/conf-pool$1.txt | head -4 | cut -c1-300 >> $f
}
conf 1
B=build-pool/bench/elattn-decode-bench
r() { # r TAG POOL ARGS...
  local tag=$1 pool=$2; shift 2
  local n=$o/$tag-P$pool.txt
  [ -f $n ] && n=$o/$tag-P$pool-2.txt
  [ "$(left)" -lt 40 ] && { echo "$tag P$pool: skipped (time)" >> $f; return; }
  ELATTN_DECODE_POOL_TILES=$pool timeout 60 $B --device cuda:0 --head-dim ${HD:-128} --dtype bf16 --flush read \
    --max-time 0.15 "$@" > $n 2>&1
  local rc=$?
  sed -n '/^results/,$p' $n | grep -E '^ +[0-9]' | awk -v t="$tag-P$pool" '{print t, $1, $2, $3, $4, "splits=" $(NF-2)}' >> $f
  [ $rc = 0 ] || echo "$tag P$pool: rc $rc $(tail -2 $n | tr '\n' ' ' | cut -c1-200)" >> $f
}
for round in 1 2; do
  for pool in 0 4 8; do r bs1 $pool --lens 8192,32768,131072 --batch 1 --mix dense,fa-ssa:0.5,fa-ssa:0.75; done
done
mkdir -p $o/peers
if [ "$(left)" -gt 100 ]; then
  LENS=8192,32768,131072 BATCHES=1 MIXES=dense FLUSH=read BUDGET_S=60 \
    timeout 90 python3 bench/decode_peers.py --out $o/peers > $o/peers/peers.log 2>&1
  echo "peers rc=$?" >> $f; grep -E "^ *(8192|32768|131072) " $o/peers/peers.log | grep -v -E "refused|skipped" | cut -c1-110 | head -20 >> $f
fi
[ "$(left)" -gt 60 ] && conf default
c=decode/bf16/d128/h8:2/L700,2600,40,3000 # a case whose cut heads share at pool 1
san=$o/san-racecheck-${c//[\/:,]/_}.txt
if [ "$(left)" -ge 50 ]; then
  ELATTN_DECODE_POOL_TILES=1 timeout $(( $(left) - 10 )) compute-sanitizer --tool racecheck --error-exitcode 9 $C \
    --backend cuda:0 --case $c --kernel cuda.decode.mma --no-isolate > $san 2>&1
  echo "racecheck $c (rc $?): $(grep -E 'SUMMARY|conformance:' $san | tr '\n' ' ')" >> $f
fi
for pool in 0 4; do r bs16 $pool --lens 8192,32768,131072 --batch 16,64 --mix dense,fa-ssa:0.75; done
for pool in 0 4; do HD=64 r d64 $pool --lens 32768,131072 --batch 1,16 --mix dense,fa-ssa:0.75; done
# fewer, longer chunks once they end together: 128K x 1 dense with every head cut into 16
for pool in 0 8; do r split16 $pool --lens 131072 --batch 1 --mix dense --splits 16; done
echo "end $SECONDS s" >> $f
sleep 1; kill $tailpid
