# call 165, run with the device tool as the command below (kind nvidia-h100-x1; tree 82c7fcb with bench/lab/notes/xattn/copies-across-tiles.patch applied as B, .base/ = git archive of 979bf5e as A: the same kernels as 82c7fcb)
# Prepared here first:
#   rm -rf .base && mkdir .base && git archive HEAD | tar xf - -C .base && rm -rf .base/bench/results
#   git apply bench/lab/notes/xattn/copies-across-tiles.patch
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200; then TOTAL_BUDGET_S=400 bash bench/lab/notes/wgmma/h200-issue11-table.sh; else STRIDES=1 NAME=xc BUDGET=420 bash bench/lab/notes/xattn/warp-specialised-measure.sh; fi
