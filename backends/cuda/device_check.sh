#!/usr/bin/env bash
# GPU check of the CUDA backend and the HIP backend on NVIDIA (through
# backends/hip/hip_to_cuda.h), for the GPU machine. Run from the repository root:
#
#   bash backends/cuda/device_check.sh            # logs under $OUT (default ./out)
#
# Builds with meson (-Dhip_platform=nvidia, sm_90a only, to keep nvcc short),
# then runs the conformance runner on cuda:0 and hip:0, then a quick pass under
# compute-sanitizer (memcheck) when it is there. Every step's output goes to
# $OUT/<step>.log; the summary is $OUT/summary.txt. Exit status: 0 only when
# every step passed.
#
# The GPU machine has no meson: carry its wheel in .whl/ (on this machine:
# python3 -m pip download --no-deps --only-binary=:all: -d .whl meson==1.0.1)
# and the script installs it to /tmp/site.
#
# Environment: OUT, BUILD_DIR (default build-device), ARCH_OPTION (the meson
# option that lists CUDA targets; default nvcc_arch, see the report of the GPU
# backend: meson reserves names that start with "cuda_"), JOBS (default nproc).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-out}
BUILD_DIR=${BUILD_DIR:-build-device}
ARCH_OPTION=${ARCH_OPTION:-nvcc_arch}
JOBS=${JOBS:-$(nproc)}
mkdir -p "$OUT"
export PATH=/usr/local/cuda/bin:$PATH
summary="$OUT/summary.txt"
: >"$summary"
status=0

step() { # step NAME COMMAND...: run, log, record PASS/FAIL
    local name=$1
    shift
    local t0=$SECONDS
    "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    if [ $rc -eq 0 ]; then
        echo "PASS $name ($((SECONDS - t0)) s)" | tee -a "$summary"
    else
        echo "FAIL $name (exit $rc, $((SECONDS - t0)) s; see $name.log)" | tee -a "$summary"
        status=1
    fi
    return $rc
}

MESON=(meson)
if ! command -v meson >/dev/null 2>&1; then
    if ls .whl/meson-*.whl >/dev/null 2>&1; then
        python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/meson-*.whl >"$OUT/meson-install.log" 2>&1
        export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
        MESON=(python3 -m mesonbuild.mesonmain)
    else
        echo "FAIL setup: no meson on PATH and no .whl/meson-*.whl to install" | tee -a "$summary"
        exit 1
    fi
fi

{ nvidia-smi; nvcc --version; } >"$OUT/machine.log" 2>&1

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    step configure "${MESON[@]}" setup "$BUILD_DIR" -Dcuda=enabled -Dhip=enabled -Dhip_platform=nvidia \
        -Dopencl=disabled -Dbench=false -Dtests=true "-D$ARCH_OPTION=sm_90a" || exit 1
fi
step build ninja -C "$BUILD_DIR" -j"$JOBS" || exit 1

RUNNER="$BUILD_DIR/conformance/elattn-conformance"
step devices "$RUNNER" --list
step conformance "$RUNNER" --backend cuda:0 --backend hip:0 --csv "$OUT/conformance.csv" --json "$OUT/conformance.json"
if command -v compute-sanitizer >/dev/null 2>&1; then
    step memcheck-cuda compute-sanitizer --tool memcheck --error-exitcode 9 "$RUNNER" --quick --backend cuda:0
    step memcheck-hip compute-sanitizer --tool memcheck --error-exitcode 9 "$RUNNER" --quick --backend hip:0
fi
# the last lines of the conformance output hold the support matrix
tail -n 40 "$OUT/conformance.log" >>"$summary" 2>/dev/null
exit $status
