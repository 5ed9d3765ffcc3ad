#!/usr/bin/env bash
# Call 25 (2026-12-03, second session): issue 11's head dims 96, 192 and 256 beside the peers in
# one call (bf16 and fp16 ours, bf16 peers with 2 FULL KV heads of 8), dense and fa-ssa:0.75, 8K and 32K.
set -u
mkdir -p $OUT/c25
git log --oneline -1 > $OUT/c25/commit.txt 2>&1
TOTAL_BUDGET_S=550 CONF=0 DTYPES=bf16,f16 DIMS=96,192,256 LENS=8192,32768 MIXES=dense,fa-ssa:0.75 \
  BENCH_ARGS="--max-reps 5 --min-time 0.05" BENCH_LIMIT_S=100 PEER_SHAPES="bf16:96 bf16:192 bf16:256" PEER_NFA=2 \
  PEERS_LIMIT_S=110 NCU=0 bash bench/hopper_sweep.sh $OUT/c25
cd $OUT && tar czf c25.tgz c25
