#!/usr/bin/env bash
# Call 46 (2026-12-03, sixth session): bench/lab/notes/xattn/warp-specialised.patch with the
# counter's dynamic items handed over per round (B, the working tree; call 42 ran the patch with
# round-robin items) against main (A, carried as .base/). Correctness of B first (XAttention
# conformance with the wgmma family forced, a case failed as hung after 20 s; memcheck and
# racecheck on the quick set), then elattn-lab-xattn A B A B at 32K (D128, D64) and A B at 128K
# (D128), then elattn-bench's XA-est.
#   rm -rf .base && mkdir .base && git archive HEAD | tar xf - -C .base && rm -rf .base/bench/results
#   git apply bench/lab/notes/xattn/warp-specialised-dynamic-items.patch
# The call ran bench/lab/notes/xattn/warp-specialised-measure.sh's body with the output $OUT/c46.
exec env NAME=c46 bash bench/lab/notes/xattn/warp-specialised-measure.sh
