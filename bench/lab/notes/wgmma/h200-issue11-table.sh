#!/usr/bin/env bash
# One device call (twenty-fifth session; issue 11 "Done means"): ours beside the peers on an H200 for
# D64 and D128, bf16 and fp16, 8K / 32K / 128K, dense, fa-ssa:0.75 and fa-ssa:0.5, then ncu's
# tensor-pipe utilisation of one dense launch (bf16 D128 16K), all through bench/hopper_sweep.sh
# (no conformance or sanitizer stage: those ran on this tree's kernels in calls 119-154). The peers
# run with 2 FULL KV heads of 8 (the serial composition of fa-ssa:0.75); each peers.py run is cut
# at PEERS_LIMIT_S and keeps the lengths it finished. Refuses any GPU but an H200 (exit 3) unless
# ANY_GPU=1; LENS and PEER_LENS (default 8192,32768,131072) from the environment, and for a partial
# table DTYPES, MIXES, PEER_SHAPES, PEER_NFA (FULL KV heads of 8 in the serial composition) and NCU.
# From the repository root with `run` (kind nvidia-h200). Output: $OUT/h11.txt, $OUT/h11.tgz.
set -u
[ "${ANY_GPU:-0}" = 1 ] || nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200 || {
  echo "not an H200: $(nvidia-smi --query-gpu=name --format=csv,noheader)"; exit 3; }
o=$OUT/h11; mkdir -p $o
[ -f build-h11/build.ninja ] || meson setup build-h11 -Dcuda=enabled -Dhip=disabled -Dopencl=disabled \
  -Dnvcc_arch=sm_90a -Dtests=false -Dbench=true > $o/setup.log 2>&1
TOTAL_BUDGET_S=${TOTAL_BUDGET_S:-530} BUILD_DIR=build-h11 CONF=0 SANITIZE=0 OCL=0 \
  DTYPES=${DTYPES:-bf16,f16} DIMS=64,128 LENS=${LENS:-8192,32768,131072} MIXES=${MIXES:-dense,fa-ssa:0.75,fa-ssa:0.5} \
  BENCH_ARGS="--max-reps 3 --min-time 0.03" BENCH_LIMIT_S=150 \
  PEER_SHAPES="${PEER_SHAPES:-bf16:128 bf16:64 f16:128 f16:64}" PEER_NFA=${PEER_NFA:-2} PEER_LENS=${PEER_LENS:-${LENS:-8192,32768,131072}} PEERS_LIMIT_S=${PEERS_LIMIT_S:-62} NCU=${NCU:-1} \
  bash bench/hopper_sweep.sh $o/sweep > $o/sweep-stdout.log 2>&1
git log -1 --format=%H > $o/commit.txt
{ cat $o/sweep/sweep.log; grep -E "^(bf16|f16) " $o/sweep/ours.txt
  for p in $o/sweep/peers-*; do echo "== $p"; grep -E "S=" $p/peers.log; done
  grep -E "Grid Size|Duration" $o/sweep/ncu.txt | head -3
  grep -E "sm__pipe_tensor|tensor" $o/sweep/ncu.txt | head -8; } > $OUT/h11.txt 2>&1
tar czf $OUT/h11.tgz -C $OUT h11
cat $OUT/h11.txt
