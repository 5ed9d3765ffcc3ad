#!/usr/bin/env bash
# Call 78 (2026-12-04, fourth session): the session's final tree through bench/device_run.sh: build (CUDA,
# HIP through nvcc, OpenCL), conformance on cuda:0 and opencl:1 (every kernel family of each, mma_async
# with its new table row among them), the paper set on cuda:0 at 8K and 32K, and stage 4b
# (bench/interleaved.py) for the first time inside device_run.sh. peers.py and the sanitizers are left out
# to fit the session's last device minutes (no CUDA kernel changed this session; peers are inside 4b).
set -u
SANITIZE=0 SKIP_PEERS=1 LENS=8192,32768 TOTAL_BUDGET_S=470 CONF_TIMEOUT_S=180 BENCH_BUDGET_S=40 \
  INTERLEAVED_TIMEOUT_S=120 DEVICES="cuda:0 opencl:1" BENCH_DEVICES="cuda:0" bash bench/device_run.sh $OUT/c78
cd $OUT && tar czf c78.tgz c78
