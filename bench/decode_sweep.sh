#!/usr/bin/env bash
# The decode benchmark of issue 14 (item 4) in one device call, from the repository root:
#
#   BUILD_DIR=build-hopper TOTAL_BUDGET_S=240 bash bench/decode_sweep.sh [OUT_DIR]   default: $OUT
#
# Stages (each logs to OUT_DIR; a failing stage does not stop the next):
#   build   ninja in $BUILD_DIR (incremental: elattn-decode-bench is new); only when the folder
#           has no build.ninja: meson setup -Dcuda=enabled -Dnvcc_arch=sm_90a first (as
#           bench/hopper_sweep.sh; minutes)
#   ours    elattn-decode-bench on $DEVICE (cuda:0): LENS x BATCHES x MIXES, --json decode_ours.json
#   peers   bench/decode_peers.py (torch on cuda:0): decode_peers.json
#   join    bench/join_decode.py: decode_table.md
#   ncu     (NCU=1) Nsight Compute on one chunk-kernel launch per NCU_CASES entry (context:batch,
#           dense; default "131072:16 131072:1"): DRAM throughput, occupancy, warp stalls;
#           ncu_<context>x<batch>.txt
# TOTAL_BUDGET_S (default 240) bounds the whole call: after the build, ours gets OURS_SHARE
# (default 55) percent of what is left and the peers the rest, less JOIN_RESERVE_S (10). Each
# tool is told its budget (it reports configs it cannot start as "skipped (budget)") and is
# stopped by `timeout` 8 s later; both rewrite their JSON after every row.
# Defaults: LENS 8192,32768,131072  BATCHES 1,16,64  MIXES dense,fa-ssa:0.5,fa-ssa:0.75  D 128
#           DTYPE bf16; OURS_ARGS adds options to elattn-decode-bench (e.g. --check, --new 4), PEERS_ARGS
#           to decode_peers.py (--cpu --tiny: the whole script on a machine without a GPU, with
#           DEVICE=reference and small LENS/BATCHES and OURS_ARGS, as a logic check).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
out=${1:-${OUT:?give an output folder or set OUT}}
mkdir -p "$out"
build=${BUILD_DIR:-build-hopper}
lens=${LENS:-8192,32768,131072}
batches=${BATCHES:-1,16,64}
mixes=${MIXES:-dense,fa-ssa:0.5,fa-ssa:0.75}
dim=${D:-128}
dtype=${DTYPE:-bf16}
total=${TOTAL_BUDGET_S:-240}
summary="$out/decode_sweep.log"
: >"$summary"
log_tag=decode-sweep
# shellcheck source=bench/stages.sh
. bench/stages.sh

{ nvidia-smi; } >"$out/machine.txt" 2>&1 || true
build_sh="ninja -C '$build' -j$(nproc)"
[ -f "$build/build.ninja" ] || build_sh="meson setup '$build' -Dcuda=enabled -Dhip=disabled -Dopencl=disabled \
    -Dnvcc_arch=sm_90a -Dtests=false -Dbench=true ${MESON_ARGS:-} && $build_sh"
stage build "$total" "$out/build.log" bash -c "$build_sh"
bench="$build/bench/elattn-decode-bench"
[ -x "$bench" ] || { tail -40 "$out/build.log" | tee -a "$summary"; exit 1; }

left=$((total - SECONDS - ${JOIN_RESERVE_S:-10}))
ours_s=$((left * ${OURS_SHARE:-55} / 100))
# shellcheck disable=SC2086
stage ours "$ours_s" "$out/decode_ours.txt" "$bench" --device "${DEVICE:-cuda:0}" --lens "$lens" --batch "$batches" \
    --mix "$mixes" --head-dim "$dim" --dtype "$dtype" --budget-s $((ours_s > 16 ? ours_s - 8 : 8)) --json "$out/decode_ours.json" \
    ${OURS_ARGS:-}
tail -32 "$out/decode_ours.txt" | tee -a "$summary"

peers_s=$((total - SECONDS - ${JOIN_RESERVE_S:-10}))
# shellcheck disable=SC2086
stage peers "$peers_s" "$out/decode_peers.log" env LENS="$lens" BATCHES="$batches" MIXES="$mixes" D="$dim" \
    DTYPE="$dtype" BUDGET_S=$((peers_s > 16 ? peers_s - 8 : 8)) python3 bench/decode_peers.py --out "$out" ${PEERS_ARGS:-}
tail -4 "$out/decode_peers.log" | tee -a "$summary"

if [ -f "$out/decode_ours.json" ]; then
    peers_json=()
    [ -f "$out/decode_peers.json" ] && peers_json=(--peers "$out/decode_peers.json")
    if python3 bench/join_decode.py --ours "$out/decode_ours.json" "${peers_json[@]}" --out "$out/decode_table.md" \
        >/dev/null 2>"$out/join.log"; then
        log "join: $out/decode_table.md"
        cat "$out/decode_table.md"
    else
        log "join failed:"
        cat "$out/join.log"
    fi
fi
if [ "${NCU:-0}" = 1 ] && command -v ncu >/dev/null; then
    for c in ${NCU_CASES:-131072:16 131072:1}; do
        len=${c%%:*} b=${c##*:}
        # the warm-up's first launch: same kernel, same work list as the timed ones
        stage "ncu ${len}x$b" 90 "$out/ncu_${len}x$b.txt" ncu --clock-control none --kernel-name regex:chunk_kernel \
            --launch-count 1 --section SpeedOfLight --section MemoryWorkloadAnalysis --section Occupancy \
            --section WarpStateStats --section LaunchStats \
            "$bench" --device "${DEVICE:-cuda:0}" --lens "$len" --batch "$b" --mix dense --head-dim "$dim" --dtype "$dtype" \
            --budget-s 20
        grep -E "Duration|DRAM Throughput|Memory Throughput|Achieved Occupancy|Registers Per|Waves Per SM|Grid Size" \
            "$out/ncu_${len}x$b.txt" | tee -a "$summary"
    done
fi
log "done"
