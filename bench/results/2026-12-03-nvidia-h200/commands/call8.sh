#!/usr/bin/env bash
# Call 8 (2026-12-03): the wgmma family after call 7's review (the item hand-over through named
# barriers): attention conformance with wgmma forced, memcheck and racecheck on the quick set, and
# ours beside the peers (SDPA, Flex, serial hybrid) for D64 and D128, bf16 and fp16, 8K and 32K.
TOTAL_BUDGET_S=575 CONF=1 CONF_ARGS="--case attn/ --no-isolate" CONF_LIMIT_S=120 SANITIZE=1 SAN_LIMIT_S=80 \
  DTYPES=bf16,f16 DIMS=64,128 LENS=8192,32768 MIXES=dense,fa-ssa:0.75,fa-ssa:0.5,fa-ssa:1 \
  BENCH_ARGS="--max-reps 5 --min-time 0.05" BENCH_LIMIT_S=100 \
  PEER_SHAPES="bf16:64 f16:64 bf16:128 f16:128" PEER_NFA=2 PEERS_LIMIT_S=72 \
  bash bench/hopper_sweep.sh $OUT/c8
git log -1 --format=%H > $OUT/c8/commit.txt; git diff > $OUT/c8/working-tree.diff
cd $OUT && tar czf c8.tgz c8
