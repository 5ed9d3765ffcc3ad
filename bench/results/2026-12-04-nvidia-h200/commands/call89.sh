#!/usr/bin/env bash
# Call 89 (2026-12-04, sixth session): the per-block timeline of batch-1 decode steps on
# cuda.decode.mma (bench/lab/notes/decode/timeline-probe-v2.patch, written in the fifth session
# and not run until now), on 8e5038e. The script applies the probe, builds with
# -DELATTN_DECODE_TIMELINE and runs 8K / 32K / 128K x 1, dense and fa-ssa:0.75.
NAME=c89 bash bench/lab/notes/decode/timeline-measure.sh
