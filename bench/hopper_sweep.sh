#!/usr/bin/env bash
# The Hopper sweep of issue 11, in one device call, from the repository root of the
# carried tree (shared/tools/peers.py carried beside it):
#
#   bash bench/hopper_sweep.sh [OUT_DIR]          default: $OUT
#
# Stages (each logs to OUT_DIR; a failing stage does not stop the next):
#   build        CUDA + OpenCL in $BUILD_DIR (default build-hopper), sm_90a
#   conformance  cuda:0 with every attention case forced onto CONF_KERNEL (default
#                cuda.attn.wgmma; "all": every family of the device in turn)
#                (CONF=0 skips; CONF_ARGS adds options, e.g. --quick)
#   interop      meson test interop-cuda modules exports (INTEROP=1)
#   sanitizer    compute-sanitizer memcheck and racecheck, --quick, wgmma forced (SANITIZE=1)
#   ours         elattn-bench --set paper (Hq 32, Hkv 8, sink 128, local 2048, block 128) on
#                cuda:0: DTYPES x DIMS x LENS x MIXES, one process
#   peers        shared/tools/peers.py for each (dtype, D) in PEER_SHAPES and each NFA in
#                PEER_NFA (2 of 8 KV heads full = fa-ssa:0.75, 4 = fa-ssa:0.5), at PEER_LENS (default LENS)
#   opencl       NVIDIA's OpenCL (OCL_DEVICE, default opencl:1), OCL=1: the conformance forced onto
#                OCL_CONF_KERNEL (default opencl.attn.mma; "all": every family in turn; OCL_CONF_ARGS adds
#                options, e.g. --exclude attn/), then
#                elattn-bench dense and fa-ssa:0.75 at OCL_LENS (default 8192), D 64 and 128, on each of
#                OCL_KERNELS (default opencl.attn.mma opencl.attn.scalar cuda), one process each
#   ocl tune     elattn-opencl-tune on OCL_DEVICE for the mma and scalar families (OCL_TUNE=1)
#   decode       bench/decode_sweep.sh into OUT_DIR/decode (DECODE=1; DECODE_BUDGET_S, default 150;
#                DECODE_LENS, DECODE_BATCHES, DECODE_MIXES), after the decode conformance cases on cuda:0
#   ncu          Nsight Compute on one dense launch (NCU=1): tensor-pipe utilisation, stalls
# TOTAL_BUDGET_S (default 560) bounds the whole sweep.
# Defaults: DTYPES bf16,f16  DIMS 64,96,128,192,256  LENS 8192,32768  MIXES dense,fa-ssa:0.75,fa-ssa:0.5
#           PEER_SHAPES "bf16:64 bf16:128"  PEER_NFA "2 4"  NCU_SHAPE bf16:128:16384
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
out=${1:-${OUT:?give an output folder or set OUT}}
mkdir -p "$out"
build=${BUILD_DIR:-build-hopper}
dtypes=${DTYPES:-bf16,f16}
dims=${DIMS:-64,96,128,192,256}
lens=${LENS:-8192,32768}
mixes=${MIXES:-dense,fa-ssa:0.75,fa-ssa:0.5}
summary="$out/sweep.log"
: >"$summary"
total=${TOTAL_BUDGET_S:-560} # the whole sweep: a stage's limit never reaches past it
log_tag=sweep
# shellcheck source=bench/stages.sh
. bench/stages.sh

{ nvidia-smi; } >"$out/machine.txt" 2>&1 || true
[ -f shared/tools/nvidia-opencl.sh ] && . shared/tools/nvidia-opencl.sh
# CLBlast from carried Debian packages (bench/fetch_clblast_debs.sh), for opencl.xattn.clblast
[ -d .debs ] && . bench/clblast_debs_env.sh
build_sh="ninja -C '$build' -j$(nproc)"
[ -f "$build/build.ninja" ] || build_sh="meson setup '$build' -Dcuda=enabled -Dhip=disabled -Dopencl=enabled \
    -Dnvcc_arch=sm_90a -Dtests=true -Dbench=true ${MESON_ARGS:-} && $build_sh"
stage build "${BUILD_LIMIT_S:-300}" "$out/build.log" bash -c "$build_sh"
bench="$build/bench/elattn-bench" conf="$build/conformance/elattn-conformance"
[ -x "$bench" ] || { tail -40 "$out/build.log" | tee -a "$summary"; exit 1; }

if [ "${CONF:-1}" = 1 ]; then
    conf_kernel=${CONF_KERNEL:-cuda.attn.wgmma}
    force=(--kernel "$conf_kernel")
    [ "$conf_kernel" = all ] && force=()
    # shellcheck disable=SC2086
    stage "conformance cuda:0 ($conf_kernel)" "${CONF_LIMIT_S:-200}" "$out/conformance.log" \
        "$conf" --backend cuda:0 "${force[@]}" --json "$out/conformance.json" ${CONF_ARGS:-}
    tail -4 "$out/conformance.log" | tee -a "$summary"
    grep -E "^FAIL" "$out/conformance.log" | head -20 | tee -a "$summary"
fi
if [ "${SANITIZE:-0}" = 1 ]; then
    for tool in ${SAN_TOOLS:-memcheck racecheck}; do
        stage "sanitizer $tool" "${SAN_LIMIT_S:-150}" "$out/sanitizer-$tool.log" compute-sanitizer --tool "$tool" --error-exitcode 99 \
            "$conf" --backend cuda:0 --kernel cuda.attn.wgmma --quick --no-isolate
        grep -E "ERROR SUMMARY|RACECHECK SUMMARY|^conformance:" "$out/sanitizer-$tool.log" | tee -a "$summary"
    done
fi

if [ "${INTEROP:-0}" = 1 ]; then
    stage interop 60 "$out/interop.log" meson test -C "$build" --print-errorlogs interop-cuda interop-reference modules exports
    grep -E "^ *[0-9]+/[0-9]+ " "$out/interop.log" | tee -a "$summary"
fi

if [ "${OCL:-0}" = 1 ]; then
    od=${OCL_DEVICE:-opencl:1}
    ocl_force=(--kernel "${OCL_CONF_KERNEL:-opencl.attn.mma}")
    [ "${OCL_CONF_KERNEL:-}" = all ] && ocl_force=()
    stage "conformance $od (${OCL_CONF_KERNEL:-opencl.attn.mma})" "${OCL_CONF_LIMIT_S:-90}" "$out/ocl-conformance.log" \
        "$conf" --backend "$od" "${ocl_force[@]}" --no-isolate --json "$out/ocl-conformance.json" ${OCL_CONF_ARGS:-}
    tail -2 "$out/ocl-conformance.log" | tee -a "$summary"
    grep -E "^FAIL" "$out/ocl-conformance.log" | head -10 | tee -a "$summary"
    for k in ${OCL_KERNELS:-opencl.attn.mma opencl.attn.scalar cuda}; do
        dev=$od
        [ "$k" = cuda ] && dev=cuda:0 k=cuda.attn
        stage "bench $k" "${OCL_BENCH_LIMIT_S:-45}" "$out/ocl-bench-$k.txt" "$bench" --set paper --device "$dev" --kernel "$k" --lens "${OCL_LENS:-8192}" \
            --mix dense,fa-ssa:0.75 --dtype bf16 --head-dim 64,128 --no-check --no-router --no-serial --max-reps 5
    done
    # XAttention selection (opencl.xattn.clblast when built with CLBlast) with the fused plan after it
    stage "bench fa-xa $od" "${OCL_XA_LIMIT_S:-60}" "$out/ocl-bench-xattn.txt" "$bench" --set paper --device "$od" --lens 8192,32768 \
        --mix fa-xa:0.75 --dtype bf16 --head-dim 128 --no-check --no-router --no-serial --max-reps 3
fi
if [ "${OCL_TUNE:-0}" = 1 ]; then
    for fam in mma scalar; do
        # seconds per head dim: mma builds 18 candidates at d64 (rows per warp x work-group x tile_n)
        budget=12
        [ "$fam" = mma ] && budget=30
        stage "tune ${OCL_DEVICE:-opencl:1} $fam" "${TUNE_LIMIT_S:-$((3 * budget + 14))}" "$out/ocl-tune-$fam.txt" \
            "$build/bench/elattn-opencl-tune" --device "${OCL_DEVICE:-opencl:1}" --family "$fam" --budget "$budget"
        tail -8 "$out/ocl-tune-$fam.txt" >>"$summary"
    done
fi
if [ "${DECODE:-0}" = 1 ]; then
    stage "conformance cuda:0 decode" 120 "$out/conformance-decode.log" "$conf" --backend cuda:0 --case decode/ --no-isolate
    tail -1 "$out/conformance-decode.log" | tee -a "$summary"
    grep -E "^FAIL" "$out/conformance-decode.log" | head -10 | tee -a "$summary"
    # its own shape lists (the sweep's LENS / MIXES / D are the prefill's)
    stage decode "$((${DECODE_BUDGET_S:-150} + 20))" "$out/decode.log" env BUILD_DIR="$build" \
        TOTAL_BUDGET_S="${DECODE_BUDGET_S:-150}" LENS="${DECODE_LENS:-8192,32768,131072}" \
        BATCHES="${DECODE_BATCHES:-1,16,64}" MIXES="${DECODE_MIXES:-dense,fa-ssa:0.5,fa-ssa:0.75}" D=128 \
        bash bench/decode_sweep.sh "$out/decode"
fi
# shellcheck disable=SC2086
stage ours "${BENCH_LIMIT_S:-240}" "$out/ours.txt" "$bench" --set paper --device cuda:0 --dtype "$dtypes" --head-dim "$dims" \
    --lens "$lens" --mix "$mixes" --no-check --no-router --no-serial --json "$out/ours.json" ${BENCH_ARGS:-}
for shape in ${PEER_SHAPES:-bf16:64 bf16:128}; do
    dt=${shape%%:*} d=${shape##*:}
    for nfa in ${PEER_NFA:-2 4}; do
        mkdir -p "$out/peers-$dt-d$d-nfa$nfa"
        stage "peers $dt D$d NFA $nfa" "${PEERS_LIMIT_S:-150}" "$out/peers-$dt-d$d-nfa$nfa/peers.log" \
            env DTYPE="$dt" D="$d" NFA="$nfa" LENS="${PEER_LENS:-$lens}" OUT="$out/peers-$dt-d$d-nfa$nfa" python3 shared/tools/peers.py
    done
done
if [ "${NCU:-0}" = 1 ] && command -v ncu >/dev/null; then
    IFS=: read -r ndt nd nlen <<<"${NCU_SHAPE:-bf16:128:16384}"
    # --lead-tokens 0: the benchmark's lead (an untimed attention queued before each run) is an
    # attn_kernel launch too, and would be the one profiled (as in 2026-12-07 call 156)
    stage ncu 180 "$out/ncu.txt" ncu --clock-control none --kernel-name regex:attn_kernel --launch-count 1 \
        --section SpeedOfLight --section WarpStateStats --section SchedulerStats --section Occupancy \
        --metrics "regex:sm__pipe_.*_cycles_active.avg.pct_of_peak_sustained_active,regex:smsp__warp_issue_stalled_.*_per_warp_active.pct" \
        "$bench" --set paper --device cuda:0 --dtype "$ndt" --head-dim "$nd" --lens "$nlen" --mix dense --no-check --no-router \
        --no-serial --min-reps 1 --max-reps 1 --warmup 0 --min-time 0 --lead-tokens 0
fi
log done
