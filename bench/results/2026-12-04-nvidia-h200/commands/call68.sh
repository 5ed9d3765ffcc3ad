#!/usr/bin/env bash
# Call 68 (2026-12-04, third session): bench/device_run.sh with the clock sampler (bench/gpu_clocks.sh):
# our bench and the torch peers at 8K, D128 bf16, dense and fa-ssa:0.75, each stage's SM clock and power.
o=$OUT/c68; mkdir -p $o
SKIP_CONF=1 SANITIZE=0 DEVICES=cuda:0 LENS=8192 TOTAL_BUDGET_S=500 BENCH_BUDGET_S=40 PEERS_TIMEOUT_S=150 \
  BENCH_ARGS="--mix dense,fa-ssa:0.75 --head-dim 128 --dtype bf16 --no-router" bash bench/device_run.sh $o
cat $o/device_run.log
cd $OUT && tar czf c68.tgz c68
