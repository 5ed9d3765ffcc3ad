#!/usr/bin/env bash
# Call 66 (2026-12-04, third session): bench/lab/notes/xattn/warp-specialised-measure.sh run as
#   NAME=c66 bash bench/lab/notes/xattn/warp-specialised-measure.sh
# on warp-specialised-dynamic-items.patch with the producer issuing TMA boxes (128 x 128 tiles), A = e9a3f0e in .base/.
NAME=c66 bash bench/lab/notes/xattn/warp-specialised-measure.sh
