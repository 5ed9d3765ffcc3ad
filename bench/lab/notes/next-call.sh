#!/usr/bin/env bash
# The first device call of the next session (written in the thirtieth, which was lent no machine).
# On an H200: issue 11's table (bench/lab/notes/random-draws/h200-table-or-draws.sh runs
# wgmma/h200-issue11-table.sh, then random draws with what is left). On any other Hopper GPU: the
# XAttention cluster-pairs experiment, main (.base/) against main with
# xattn/cluster-pairs.patch, which this script applies to the device's copy of the tree only.
# Prepare here, from the repository root:
#   rm -rf .base && mkdir .base && git archive HEAD | tar xf - -C .base && rm -rf .base/bench/results
# then with `run`: bash bench/lab/notes/next-call.sh   (then delete .base/ here)
set -u
g=$(nvidia-smi --query-gpu=name --format=csv,noheader); echo "$g"
if echo "$g" | grep -q H200; then
  SEED=${SEED:-1208401} bash bench/lab/notes/random-draws/h200-table-or-draws.sh
else
  [ -d .base ] || { echo "no .base/: see the header"; exit 2; }
  patch -p1 < bench/lab/notes/xattn/cluster-pairs.patch > /dev/null || { echo "cluster-pairs.patch does not apply"; exit 2; }
  BUDGET=${BUDGET:-560} bash bench/lab/notes/xattn/pair-measure.sh
fi
