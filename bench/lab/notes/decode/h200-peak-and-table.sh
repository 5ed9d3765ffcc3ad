#!/usr/bin/env bash
# One device call (twenty-second session, issue 14): on an H200, the bandwidth split model's S from
# the device's peak bandwidth, A (6045c63) against B (this tree), A B (ROUNDS=1), then issue 14's
# decode table with the peers on B (its own build): peak-bandwidth-ab.sh, then decode-table-h200.sh. From the
# repository root with `run` (kind nvidia-h200; the command refuses any other GPU). Output: $OUT/pb
# (see peak-bandwidth-ab.sh) and $OUT/dt.txt, $OUT/dt.tgz (see decode-table-h200.sh).
set -u
nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200 || {
  echo "not an H200: $(nvidia-smi --query-gpu=name --format=csv,noheader)"; exit 3; }
ROUNDS=1 BUDGET_S=300 bash bench/lab/notes/decode/peak-bandwidth-ab.sh > /dev/null 2>&1
TOTAL_BUDGET_S=200 bash bench/lab/notes/decode/decode-table-h200.sh > /dev/null 2>&1
(cd $OUT && tar czf pb.tgz pb && cat pb/pb.txt dt.txt)
