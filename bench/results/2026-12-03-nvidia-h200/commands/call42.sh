#!/usr/bin/env bash
# The device call for warp-specialised.patch (not yet run). Run from the repository root with the
# patch applied (B, the working tree) and the tree without it carried as .base/ (A):
#   rm -rf .base && mkdir .base && git archive HEAD | tar xf - -C .base && rm -rf .base/bench/results
#   git apply bench/lab/notes/xattn/warp-specialised.patch
# Writes $OUT/ws.tgz. First the correctness of B (XAttention conformance with the wgmma family
# forced, each case failed as hung after 20 s; memcheck and racecheck on the quick set), then
# elattn-lab-xattn A B A B at 32K (D128, D64) and A B at 128K (D128), then elattn-bench's XA-est.
# The call ran bench/lab/notes/xattn/warp-specialised-measure.sh (its body, output $OUT/ws).
exec bash bench/lab/notes/xattn/warp-specialised-measure.sh
