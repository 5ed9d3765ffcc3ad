#!/usr/bin/env bash
# The engine surface (issue 13) and decode (issue 14) on the GPU machine, in one device call,
# from the repository root of the carried tree (shared/tools carried beside it):
#
#   bash bench/engine_check.sh [OUT_DIR]          default: $OUT
#
# Stages (each logs to OUT_DIR; a failing stage does not stop the next):
#   build        CUDA + HIP through nvcc (hip_platform=nvidia) + OpenCL in $BUILD_DIR (default
#                build-engine), sm_90a
#   tests        meson test: the graph-capture test, device metadata, merge, interop, decode and
#                the example engine on cuda and hip, the module and export checks
#   conformance  cuda:0 every case and family; hip:0 and OCL_DEVICE (default opencl:1) the
#                strided, paged and decode groups
#   overhead     elattn-host-overhead on cuda and hip (host time per call, host metadata vs plan)
#   kv-memory    elattn-kv-memory on cuda
#   python       the Python packages this machine has (for the end-to-end model check)
# TOTAL_BUDGET_S (default 540) bounds the whole run.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
out=${1:-${OUT:?give an output folder or set OUT}}
mkdir -p "$out"
build=${BUILD_DIR:-build-engine}
summary="$out/engine.log"
: >"$summary"
total=${TOTAL_BUDGET_S:-540}
log_tag=engine
# shellcheck source=bench/stages.sh
. bench/stages.sh

{ nvidia-smi; } >"$out/machine.txt" 2>&1 || true
[ -f shared/tools/nvidia-opencl.sh ] && . shared/tools/nvidia-opencl.sh
build_sh="ninja -C '$build' -j$(nproc)"
[ -f "$build/build.ninja" ] || build_sh="meson setup '$build' -Dcuda=enabled -Dhip=enabled -Dhip_platform=nvidia \
    -Dopencl=enabled -Dclblast=disabled -Dnvcc_arch=sm_90a -Dtests=true -Dbench=true ${MESON_ARGS:-} && $build_sh"
stage build "${BUILD_LIMIT_S:-240}" "$out/build.log" bash -c "$build_sh"
conf="$build/conformance/elattn-conformance"
[ -x "$conf" ] || { tail -40 "$out/build.log" | tee -a "$summary"; exit 1; }

stage tests "${TESTS_LIMIT_S:-150}" "$out/tests.log" meson test -C "$build" --no-rebuild --print-errorlogs \
    graph-capture device-meta-cuda device-meta-hip merge-cuda merge-hip interop-cuda decode-cuda decode-hip \
    example-engine-cuda example-engine-hip modules exports buffer-views
grep -E "^ *[0-9]+/[0-9]+ " "$out/tests.log" | tee -a "$summary"

stage "conformance cuda:0" "${CONF_LIMIT_S:-200}" "$out/conformance-cuda.log" \
    "$conf" --backend cuda:0 --json "$out/conformance-cuda.json"
tail -3 "$out/conformance-cuda.log" | tee -a "$summary"
grep -E "^FAIL" "$out/conformance-cuda.log" | head -20 | tee -a "$summary"
for dev in hip:0 "${OCL_DEVICE:-opencl:1}"; do
    for group in attn/strided attn/paged decode/; do
        stage "conformance $dev $group" "${GROUP_LIMIT_S:-40}" "$out/conformance-${dev%%:*}-${group//\//_}.log" \
            "$conf" --backend "$dev" --case "$group" --no-isolate
        tail -1 "$out/conformance-${dev%%:*}-${group//\//_}.log" | tee -a "$summary"
        grep -E "^FAIL" "$out/conformance-${dev%%:*}-${group//\//_}.log" | head -5 | tee -a "$summary"
    done
done

for dev in cuda hip; do
    stage "overhead $dev" 30 "$out/host-overhead-$dev.txt" "$build/bench/elattn-host-overhead" "$dev" 16 256 200
    cat "$out/host-overhead-$dev.txt" >>"$summary"
done
stage kv-memory 60 "$out/kv-memory.txt" "$build/bench/elattn-kv-memory" cuda
tail -12 "$out/kv-memory.txt" >>"$summary"
stage python 30 "$out/python.txt" python3 -c "
import importlib
for m in ('torch', 'numpy', 'transformers', 'safetensors', 'tokenizers', 'huggingface_hub', 'accelerate'):
    try:
        print(m, importlib.import_module(m).__version__)
    except Exception as e:
        print(m, 'MISSING', type(e).__name__, e)
"
cat "$out/python.txt" >>"$summary"
log done
