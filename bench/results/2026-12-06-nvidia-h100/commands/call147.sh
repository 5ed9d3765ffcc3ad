#!/usr/bin/env bash
# Call 147 (twenty-first session), from the repository root with `run` (kind nvidia-h100-x1).
mkdir -p $OUT && timeout 200 python3 bench/lab/notes/decode/free_phase.py 2>&1 | tee $OUT/free_phase.txt; nvidia-smi --query-gpu=name --format=csv,noheader >> $OUT/free_phase.txt
