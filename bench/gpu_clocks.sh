#!/usr/bin/env bash
# The GPUs' SM clock, power draw and clock-event reasons, sampled by nvidia-smi while a benchmark
# runs, so that a time can be read beside the clock it ran at: sustained attention on an H200
# meets the 700 W cap within about a second and its SM clock falls from 1980 MHz to 1300-1665
# (bench/results/2026-12-04-nvidia-h200, call 65), cuDNN's as ours.
#
#   bench/gpu_clocks.sh start FILE.csv [PERIOD_MS]   sample into FILE.csv (default every 50 ms);
#                                                     prints the sampler's pid (nothing without nvidia-smi)
#   bench/gpu_clocks.sh stop PID FILE.csv [LABEL]    stop it and print one summary line per GPU
#
# The summary (bench/gpu_clocks.py) counts a sample as busy when the power draw is over 40% of
# the limit, and gives the busy samples' SM clock (min / median / max), power and the share of
# them with the power cap among the reasons.
set -u
case "${1:-}" in
start)
    command -v nvidia-smi >/dev/null || exit 0
    file=$2 period=${3:-50}
    reasons=clocks_event_reasons.active # the name since driver 535; older drivers: clocks_throttle_reasons
    nvidia-smi --query-gpu=$reasons --format=csv >/dev/null 2>&1 || reasons=clocks_throttle_reasons.active
    nvidia-smi --query-gpu=timestamp,index,clocks.sm,power.draw,power.limit,$reasons --format=csv,noheader,nounits \
        -lms "$period" >"$file" 2>&1 &
    echo $!
    ;;
stop)
    pid=${2:-} file=$3 label=${4:-}
    [ -n "$pid" ] || exit 0
    kill "$pid" 2>/dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10; do # not a child of this shell (no wait): until it is gone or a zombie
        st=$(ps -o stat= -p "$pid" 2>/dev/null)
        [ -n "$st" ] && [[ $st != Z* ]] || break
        sleep 0.1
    done
    python3 "$(dirname "$0")/gpu_clocks.py" "$file" ${label:+--label "$label"}
    ;;
*)
    echo "usage: $0 start FILE.csv [PERIOD_MS] | stop PID FILE.csv [LABEL]" >&2
    exit 2
    ;;
esac
