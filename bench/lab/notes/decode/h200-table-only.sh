#!/usr/bin/env bash
# One device call (twenty-second session, issue 14 "Done means"): decode-table-h200.sh on this tree
# (the bandwidth model's S from the device's peak bandwidth), refusing any GPU but an H200. From the
# repository root with `run` (kind nvidia-h200). Output: $OUT/dt.txt, $OUT/dt.tgz.
set -u
nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200 || {
  echo "not an H200: $(nvidia-smi --query-gpu=name --format=csv,noheader)"; exit 3; }
nvcc -o /tmp/mem_peak bench/lab/notes/decode/mem_peak.cu > /dev/null 2>&1 && /tmp/mem_peak
TOTAL_BUDGET_S=220 bash bench/lab/notes/decode/decode-table-h200.sh > /dev/null 2>&1
cat $OUT/dt.txt
