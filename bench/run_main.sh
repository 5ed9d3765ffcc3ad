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
# elattn-libs: the core and the backend modules it loads at run time (no link dependency)
ninja -C "$build" -j"$(nproc)" bench/elattn-bench elattn-libs

mkdir -p "$out"
rm -f "$out"/*.png

# The device, and why, in one line. "auto" is resolved here with the library's
# own order (elattn_device_open_by_name: CUDA, HIP, OpenCL GPU, other OpenCL,
# the reference) over the devices elattn-bench lists, and the bench is given
# that id, so the line names the device the numbers come from.
device=${BENCH_DEVICE:-auto}
if [ "$device" = auto ]; then
    line=$("$build/bench/elattn-bench" --list | awk '
        { id = $1; kind = id; sub(/:.*/, "", kind); gpu = ($0 !~ /not a GPU/)
          name = substr($0, 14); sub(/ +vendor .*/, "", name)
          vendor = $0; sub(/.* vendor +/, "", vendor); sub(/ .*/, "", vendor)
          rank = kind == "cuda" ? 0 : kind == "hip" ? 1 : kind == "opencl" ? (gpu ? 2 : 3) : 4
          if (best == "" || rank < best) { best = rank; bid = id; bname = name; bvendor = vendor } }
        END {
          if (best == "") exit 1
          why[0] = "first CUDA device"
          why[1] = "no CUDA device; first HIP device"
          why[2] = "no CUDA or HIP device; first OpenCL GPU"
          why[3] = "no CUDA, HIP or OpenCL GPU found; first OpenCL device, a CPU"
          why[4] = "no CUDA, HIP or OpenCL device found; the scalar reference is slow"
          printf "%s\t%s (%s, %s) - %s\n", bid, bid, bname, bvendor, why[best] }')
    device=${line%%$'\t'*}
    echo "device: ${line#*$'\t'}"
else
    echo "device: $device (BENCH_DEVICE)"
fi

# On an NVIDIA GPU the SM clock and power are sampled beside the run (bench/gpu_clocks.sh; nothing
# without nvidia-smi): a long run at the power cap runs at a lower clock, and the times say so.
clock_pid=""
case "$device" in cuda:* | hip:* | opencl:*) clock_pid=$(bash bench/gpu_clocks.sh start "$out/clocks.csv") ;; esac
# shellcheck disable=SC2086
"$build/bench/elattn-bench" --set short --device "$device" \
    --json "$out/ours.json" --csv "$out/ours.csv" ${BENCH_ARGS:-} | tee "$out/table.txt"
[ -n "$clock_pid" ] && bash bench/gpu_clocks.sh stop "$clock_pid" "$out/clocks.csv" "clock during the run" | tee -a "$out/table.txt"

# Plots need matplotlib: the first python3 that has it (PATH, then Debian's).
py=""
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import matplotlib' 2>/dev/null; then
        py=$p
        break
    fi
done
if [ -n "$py" ]; then
    "$py" bench/plot.py "$out/ours.json" --out "$out" >/dev/null
    plots="$(cd "$out" && printf '%s ' ./*.png)"
else
    plots="none (apt-get install python3-matplotlib, then: python3 bench/plot.py $out/ours.json --out $out)"
fi
echo
echo "benchmark results in $out/"
echo "  table.txt (the table above), ours.json, ours.csv${clock_pid:+, clocks.csv}"
echo "  plots: $plots"
