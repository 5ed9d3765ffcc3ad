#!/usr/bin/env bash
# The README's "main job": build if needed, run the short benchmark set on the best
# device present ("auto": CUDA, HIP, OpenCL GPU, OpenCL CPU, then the reference) and
# write the table, JSON, CSV and plots under BUILD_DIR/bench-out/ (kept out of git).
#
#   bench/run_main.sh [BUILD_DIR]       default: build (relative to the repository root)
#
# BENCH_DEVICE (default auto) and BENCH_ARGS (extra elattn-bench options) may be set;
# MESON_ARGS is passed to meson setup when the build folder does not exist yet.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
out="$build/bench-out"

if [ ! -f "$build/build.ninja" ]; then
    # shellcheck disable=SC2086
    meson setup "$build" ${MESON_ARGS:-}
fi
ninja -C "$build" -j"$(nproc)" bench/elattn-bench

mkdir -p "$out"
rm -f "$out"/*.png
# shellcheck disable=SC2086
"$build/bench/elattn-bench" --set short --device "${BENCH_DEVICE:-auto}" \
    --json "$out/ours.json" --csv "$out/ours.csv" ${BENCH_ARGS:-} | tee "$out/table.txt"

if python3 -c 'import matplotlib' 2>/dev/null; then
    python3 bench/plot.py "$out/ours.json" --out "$out" >/dev/null
    plots="$(cd "$out" && printf '%s ' ./*.png)"
else
    plots="none (python3 -m pip install matplotlib, then: python3 bench/plot.py $out/ours.json --out $out)"
fi
echo
echo "benchmark results in $out/"
echo "  table.txt (the table above), ours.json, ours.csv"
echo "  plots: $plots"
