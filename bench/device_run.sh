#!/usr/bin/env bash
# The one script the lead runs on the GPU machine, in one device call, from the
# repository root of the carried tree:
#
#   bash bench/device_run.sh [OUT_DIR]            default: $OUT
#
# Stages, in order; each logs to OUT_DIR and a failing stage does not stop the next:
#   1. build      meson + ninja in $BUILD_DIR (default build-gpu; reused when it exists):
#                 CUDA, HIP through nvcc (hip_platform=nvidia), OpenCL on NVIDIA's driver
#                 (made visible by ./shared/tools/nvidia-opencl.sh, carried in the tree),
#                 CLBlast from .debs/ when carried (bench/fetch_clblast_debs.sh, clblast_debs_env.sh)
#   2. conformance on the cuda, hip and OpenCL GPU devices     (SKIP_CONF=1 skips)
#   2b. compute-sanitizer memcheck and racecheck, conformance --quick on cuda:0 (SANITIZE=0 skips)
#   3. elattn-bench --set paper on each of those devices       (SKIP_BENCH=1 skips)
#                 LENS (default 8192,32768,131072), BENCH_ARGS (extra options),
#                 BENCH_BUDGET_S per device (default 70): cases after it are reported skipped
#   4. shared/tools/peers.py with the same LENS                (SKIP_PEERS=1 skips)
#   4b. bench/interleaved.py, ours and the peers timed in turn in one process, on the first
#                 device when it is CUDA (SKIP_INTERLEAVED=1 skips; interleaved.json)
#                 (runs right after the first device's bench, before the others); stages 3 and 4
#                 run with the GPUs' SM clock and power sampled (bench/gpu_clocks.sh, clocks-*.csv)
#   5. bench/join_peers.py: OUT_DIR/results/<date>-<device>/ (table.md, ours.json,
#                 peers.json, meta.json; the PNGs too when matplotlib is installed)
#   6. with BASELINE_TREE (a source tree of an earlier commit, carried in the working tree):
#      it is built beside ours (in parallel, in build-baseline), its conformance runs the cases
#      named by BASELINE_CASES (substring, default none) on BASELINE_DEVICES (default cuda:0),
#      and its benchmark runs the same set on the same devices right after ours, so that the
#      two builds are timed in one call (baseline-*.json, baseline-bench-*.txt).
# DEVICES (space-separated ids) replaces the automatic choice of devices; BENCH_DEVICES, for
# the benchmark alone.
# TOTAL_BUDGET_S (default 540) bounds the whole run: a stage that would start too late
# is skipped and says so. ELATTN_COMMIT, when set, is recorded in meta.json.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
out=${1:-${OUT:?give an output folder or set OUT}}
mkdir -p "$out"
build=${BUILD_DIR:-build-gpu}
lens=${LENS:-8192,32768,131072}
total_budget=${TOTAL_BUDGET_S:-540}
bench_budget=${BENCH_BUDGET_S:-70}
summary="$out/device_run.log"
: >"$summary"

log() { echo "[device_run +${SECONDS}s] $*" | tee -a "$summary"; }
left() { echo $((total_budget - SECONDS)); }
# run_stage NAME TIMEOUT_S LOGFILE CMD...: runs CMD under a timeout, logs its status.
run_stage() {
    local name=$1 limit=$2 logfile=$3
    shift 3
    if [ "$limit" -le 10 ]; then
        log "$name: skipped (total budget of ${total_budget}s spent)"
        return 1
    fi
    log "$name: start (limit ${limit}s, log $(basename "$logfile"))"
    timeout -k 10 "$limit" "$@" >"$logfile" 2>&1
    local rc=$?
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then log "$name: TIMED OUT after ${limit}s"
    else log "$name: exit $rc"; fi
    return $rc
}
min() { if [ "$1" -lt "$2" ]; then echo "$1"; else echo "$2"; fi; }

# NVIDIA's OpenCL driver next to PoCL.
if [ -f shared/tools/nvidia-opencl.sh ]; then
    # shellcheck disable=SC1091
    . shared/tools/nvidia-opencl.sh
else
    log "shared/tools/nvidia-opencl.sh missing: OpenCL will see PoCL only"
fi
# CLBlast for opencl.xattn.clblast, from .deb files carried in .debs/ (bench/fetch_clblast_debs.sh):
# unpacked into /tmp/clblast, PKG_CONFIG_PATH and LD_LIBRARY_PATH set for meson and the runs.
if ls .debs/libclblast1_*.deb >/dev/null 2>&1; then
    # shellcheck disable=SC1091
    . bench/clblast_debs_env.sh >>"$summary" 2>&1
    [ "$clblast_ok" = 1 ] || log "CLBlast from .debs unusable (above): OpenCL XAttention has its scalar family only"
else
    log "no .debs/libclblast1_*.deb: built without CLBlast unless the machine has it"
fi
{ nvidia-smi; echo; clinfo -l; } >"$out/machine.txt" 2>&1 || true

# ---- 1. build ------------------------------------------------------------------------
# The CUDA-architecture option's name, as meson_options.txt spells it today.
arch_opt=$(grep -oE "^option\('[a-z_]*arch[a-z_]*'" meson_options.txt | grep -v hip | head -1 | cut -d"'" -f2)
setup_args=(-Dcuda=enabled -Dhip=enabled -Dhip_platform=nvidia -Dopencl=enabled -Dtests=true -Dbench=true)
[ -n "$arch_opt" ] && setup_args+=("-D$arch_opt=${CUDA_ARCH:-sm_90a}")
for tool in meson ninja nvcc python3; do
    command -v "$tool" >/dev/null || log "warning: $tool not found on PATH"
done
build_sh="ninja -C '$build' -j$(nproc)"
[ -f "$build/build.ninja" ] || build_sh="meson setup '$build' ${setup_args[*]} ${MESON_ARGS:-} && $build_sh"
baseline=${BASELINE_TREE:-}
baseline_pid=
if [ -n "$baseline" ]; then
    # Built in parallel with ours; its own meson options file names its CUDA-architecture option.
    b_arch=$(grep -oE "^option\('[a-z_]*arch[a-z_]*'" "$baseline/meson_options.txt" | grep -v hip | head -1 | cut -d"'" -f2)
    b_args=(-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dtests=true -Dbench=true)
    [ -n "$b_arch" ] && b_args+=("-D$b_arch=${CUDA_ARCH:-sm_90a}")
    log "baseline build: start in the background ($baseline, log baseline-build.log)"
    (cd "$baseline" && meson setup build-baseline "${b_args[@]}" && ninja -C build-baseline -j"$(nproc)") \
        >"$out/baseline-build.log" 2>&1 &
    baseline_pid=$!
fi
run_stage build "$(min 300 "$(left)")" "$out/build.log" bash -c "$build_sh"
bench_exe="$build/bench/elattn-bench"
conf_exe="$build/conformance/elattn-conformance"
if [ ! -x "$bench_exe" ]; then
    log "no $bench_exe: nothing more to do (see build.log)"
    tail -30 "$out/build.log" | tee -a "$summary"
    exit 1
fi
"$bench_exe" --list >"$out/devices.txt" 2>&1
tee -a "$summary" <"$out/devices.txt"

# The devices to measure: CUDA, HIP and the OpenCL GPU (not PoCL), those present.
devices=()
for d in cuda:0 hip:0; do grep -q "^$d " "$out/devices.txt" && devices+=("$d"); done
ocl_gpu=$(awk '$1 ~ /^opencl:/ && / GPU, / && !/not a GPU/ {print $1; exit}' "$out/devices.txt")
[ -n "$ocl_gpu" ] && devices+=("$ocl_gpu")
# shellcheck disable=SC2206
[ -n "${DEVICES:-}" ] && devices=($DEVICES)
log "devices: ${devices[*]:-none}"

# ---- 2. conformance ---------------------------------------------------------------------
if [ "${SKIP_CONF:-0}" = 1 ]; then
    log "conformance: skipped (SKIP_CONF=1)"
elif [ ! -x "$conf_exe" ]; then
    log "conformance: no $conf_exe"
else
    conf_args=()
    for d in "${devices[@]}"; do conf_args+=(--backend "$d"); done
    run_stage conformance "$(min "${CONF_TIMEOUT_S:-300}" $(($(left) - 60)))" "$out/conformance.log" \
        "$conf_exe" "${conf_args[@]}" --json "$out/conformance.json"
    if grep -q "case isolation failed" "$out/conformance.log"; then
        # The workers could not start (seen once with NVIDIA's OpenCL); say so, and run in one process.
        log "conformance: its worker processes failed to start (conformance.log); again with --no-isolate"
        run_stage "conformance --no-isolate" "$(min "${CONF_TIMEOUT_S:-300}" $(($(left) - 60)))" \
            "$out/conformance-no-isolate.log" "$conf_exe" "${conf_args[@]}" --no-isolate --json "$out/conformance.json"
        tail -5 "$out/conformance-no-isolate.log" | tee -a "$summary"
    fi
    tail -5 "$out/conformance.log" | tee -a "$summary"
fi

# ---- 2b. compute-sanitizer on the quick case set -------------------------------------------
# memcheck (out-of-bounds and misaligned accesses, API errors) and racecheck (shared-memory
# hazards) over every CUDA kernel the quick cases reach; a report fails the stage
# (--error-exitcode), and the tool's summary line is kept in device_run.log.
if [ "${SANITIZE:-1}" = 0 ]; then
    log "sanitizer: skipped (SANITIZE=0)"
elif ! command -v compute-sanitizer >/dev/null; then
    log "sanitizer: compute-sanitizer not found"
elif [ -x "$conf_exe" ] && grep -q "^cuda:0 " "$out/devices.txt"; then
    for tool in memcheck racecheck; do
        run_stage "sanitizer $tool" "$(min "${SANITIZE_TIMEOUT_S:-150}" $(($(left) - 120)))" "$out/sanitizer-$tool.log" \
            compute-sanitizer --tool "$tool" --error-exitcode 99 "$conf_exe" --backend cuda:0 --quick
        grep -E "ERROR SUMMARY|RACECHECK SUMMARY|^conformance:" "$out/sanitizer-$tool.log" | tee -a "$summary"
    done
fi

# ---- 2c. the baseline's conformance on the cases BASELINE_CASES names ----------------------------
baseline_bench="$baseline/build-baseline/bench/elattn-bench"
if [ -n "$baseline_pid" ]; then
    if wait "$baseline_pid"; then log "baseline build: exit 0"; else log "baseline build: FAILED (baseline-build.log)"; fi
    b_conf="$baseline/build-baseline/conformance/elattn-conformance"
    if [ -n "${BASELINE_CASES:-}" ] && [ -x "$b_conf" ]; then
        for d in ${BASELINE_DEVICES:-cuda:0}; do
            run_stage "baseline conformance $d" "$(min 120 $(($(left) - 120)))" "$out/baseline-conformance-${d//:/-}.log" \
                "$b_conf" --backend "$d" --case "$BASELINE_CASES"
            grep -E "^conformance:" "$out/baseline-conformance-${d//:/-}.log" | tee -a "$summary"
        done
    fi
fi

# ---- 3 and 4. our benchmark and the peers ------------------------------------------------
# Order of importance: our bench on the first device (CUDA), the peers, then the others,
# so that a tight total budget cuts the least useful stage.
# Each bench and peers stage runs with bench/gpu_clocks.sh sampling the SM clock and the power
# (clocks-<stage>.csv); the summary line per GPU goes to device_run.log beside the stage's times.
ours=()
clocked_stage() { # clocked_stage TAG run_stage-ARGS...
    local tag=$1 pid
    shift
    pid=$(bash bench/gpu_clocks.sh start "$out/clocks-$tag.csv")
    run_stage "$@"
    bash bench/gpu_clocks.sh stop "$pid" "$out/clocks-$tag.csv" "$1" | tee -a "$summary"
}
bench_device() {
    local d=$1 f="$out/ours-${1//:/-}.json"
    # The budget stops new cases; the timeout also covers the case running at that moment.
    # shellcheck disable=SC2086
    clocked_stage "bench-${d//:/-}" "bench $d" "$(min $((bench_budget + 90)) $(($(left) - 30)))" "$out/bench-${d//:/-}.txt" \
        "$bench_exe" --set paper --lens "$lens" --device "$d" --device-budget "$bench_budget" \
        --json "$f" --csv "${f%.json}.csv" ${BENCH_ARGS:-}
    [ -s "$f" ] && ours+=(--ours "$f")
    tail -3 "$out/bench-${d//:/-}.txt" | tee -a "$summary"
    # The baseline right after, same set and device (step 6).
    if [ -x "$baseline_bench" ] && [[ " ${BASELINE_DEVICES:-cuda:0} " == *" $d "* ]]; then
        local b="$out/baseline-${1//:/-}.json"
        # shellcheck disable=SC2086
        clocked_stage "baseline-bench-${d//:/-}" "baseline bench $d" "$(min $((bench_budget + 90)) $(($(left) - 30)))" \
            "$out/baseline-bench-${d//:/-}.txt" "$baseline_bench" --set paper --lens "$lens" --device "$d" \
            --device-budget "$bench_budget" --json "$b" ${BENCH_ARGS:-}
        tail -3 "$out/baseline-bench-${d//:/-}.txt" | tee -a "$summary"
    fi
}
run_peers() {
    if [ "${SKIP_PEERS:-0}" = 1 ]; then
        log "peers: skipped (SKIP_PEERS=1)"
        return
    fi
    clocked_stage peers peers "$(min "${PEERS_TIMEOUT_S:-240}" $(($(left) - 15)))" "$out/peers.log" \
        env LENS="$lens" OUT="$out" python3 shared/tools/peers.py
    tail -3 "$out/peers.log" | tee -a "$summary"
}
# 4b. ours and the peers timed in turn in one process (bench/interleaved.py): the same power
# state for every operation, so its ratios (x ideal, serial composition / ours, cuDNN / ours)
# are the ones to quote on a power-capped GPU. Right after peers.py, on the same LENS.
run_interleaved() {
    if [ "${SKIP_INTERLEAVED:-0}" = 1 ]; then
        log "interleaved: skipped (SKIP_INTERLEAVED=1)"
        return
    fi
    if [ ! -e "$build/api/src/libelattn.so" ]; then
        log "interleaved: skipped (no $build/api/src/libelattn.so)"
        return
    fi
    clocked_stage interleaved interleaved "$(min "${INTERLEAVED_TIMEOUT_S:-240}" $(($(left) - 15)))" \
        "$out/interleaved.log" env LENS="$lens" OUT="$out" ELATTN_LIBRARY="$build/api/src" PYTHONPATH=python \
        python3 bench/interleaved.py
    grep -E "x its ideal|cuDNN dense / ours|FAILED" "$out/interleaved.log" | tee -a "$summary"
}
if [ "${SKIP_BENCH:-0}" = 1 ]; then
    log "bench: skipped (SKIP_BENCH=1)"
    run_peers
else
    first=1
    # shellcheck disable=SC2206
    bench_devices=(${BENCH_DEVICES:-${devices[*]}})
    for d in "${bench_devices[@]}"; do
        bench_device "$d"
        if [ $first = 1 ]; then
            run_peers
            [[ $d == cuda:* ]] && run_interleaved
        fi
        first=0
    done
    [ $first = 1 ] && run_peers # no device at all
fi
# peers.log stands in when peers.py died before writing peers.json (join_peers.py reads its lines).
peers_args=()
if [ -s "$out/peers.json" ]; then peers_args=(--peers "$out/peers.json")
elif grep -q " S=.* ms .*dense-equiv" "$out/peers.log" 2>/dev/null; then peers_args=(--peers "$out/peers.log"); fi

# ---- 5. join ---------------------------------------------------------------------------------
if [ ${#ours[@]} -gt 0 ]; then
    clock_args=() # the stages' clock samples (clocked_stage), each under its stage's name
    for f in "$out"/clocks-*.csv; do
        [ -s "$f" ] || continue
        tag=${f##*/clocks-}
        clock_args+=(--clocks "${tag%.csv}=$f")
    done
    dir=$(python3 bench/join_peers.py "${ours[@]}" "${peers_args[@]}" "${clock_args[@]}" --results-root "$out/results" \
        --command "bench/device_run.sh (LENS=$lens BENCH_BUDGET_S=$bench_budget)" 2>>"$summary")
    log "results: $dir"
    [ -n "$dir" ] && sed -n '1,60p' "$dir/table.md"
else
    log "join: no benchmark output"
fi
log "done"
