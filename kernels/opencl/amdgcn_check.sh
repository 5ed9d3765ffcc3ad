#!/bin/sh
# Compile-check the OpenCL programs an AMD GPU would build, without an AMD GPU.
#
# The conformance runner runs on an OpenCL device here (PoCL in CI) with
# ELATTN_OPENCL_DEVICE_CLASS=amd, so the backend makes the choices it makes on AMD's GPUs (the
# tile rows, work-group sizes and kernel forms of that class; backends/opencl/opencl_tuning.c),
# and the results are checked against the reference as always. ELATTN_OPENCL_BUILD_DUMP keeps
# every program it builds, as the driver gets it. Each is then compiled and linked, with the
# options the backend gave it, by clang for amdgcn-amd-amdhsa with ROCm's device libraries (what
# ROCm's OpenCL runtime compiles with) for gfx90a (wave64, CDNA2) and gfx1030 (wave32, RDNA2):
# the OpenCL C, the built-ins it calls, the local memory a work-group uses (64 KiB on both) and
# the registers, a line per program and target. A failed compile fails the check; spills are
# reported, a matter of speed.
#
# Not covered: the subgroup family (`opencl.attn.subgroup`), which an AMD device listing
# cl_khr_subgroups would take and PoCL cannot run; AMD's own driver (its front end is clang,
# but its version and options are its own). Nothing here has run on an AMD GPU.
#
# usage: kernels/opencl/amdgcn_check.sh CONFORMANCE [CLANG [BITCODE-DIR]]
#   CONFORMANCE: the elattn-conformance binary of a build with the OpenCL backend;
#   defaults: clang-15 (or clang), /usr/lib/x86_64-linux-gnu/amdgcn/bitcode (Debian's
#   rocm-device-libs). Runs the conformance matrix's cases on opencl:0 (about 3 minutes on PoCL
#   with its kernel cache warm). Exit 0 when every program compiles for both targets;
#   77 when a tool or the OpenCL device is missing.
set -u
conformance=${1:?usage: amdgcn_check.sh CONFORMANCE [CLANG [BITCODE-DIR]]}
clang=${2:-$(command -v clang-15 || command -v clang || true)}
bitcode=${3:-/usr/lib/x86_64-linux-gnu/amdgcn/bitcode}
if [ -z "$clang" ] || ! "$clang" -print-targets 2>/dev/null | grep -q amdgcn || [ ! -f "$bitcode/opencl.bc" ]; then
    echo "amdgcn_check: skipped (needs clang with the AMDGPU target and ROCm's device libraries in $bitcode)"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/dump"

ELATTN_OPENCL_DEVICE_CLASS=amd ELATTN_OPENCL_BUILD_DUMP="$tmp/dump" \
    "$conformance" --backend opencl:0 --allow-missing > "$tmp/conformance.txt" 2>&1
rc=$?
tail -n 1 "$tmp/conformance.txt"
if [ "$rc" -eq 77 ]; then
    echo "amdgcn_check: skipped (no OpenCL device)"
    exit 77
fi
if [ "$rc" -ne 0 ]; then
    grep -E " FAIL " "$tmp/conformance.txt" | head -n 20
    echo "FAIL  the conformance run with AMD's choices (exit $rc)"
    exit 1
fi

status=0 programs=0
for src in "$tmp"/dump/*.cl; do
    [ -f "$src" ] || continue
    opts=$(cat "${src%.cl}.opts")
    name=$(basename "${src%.cl}")
    programs=$((programs + 1))
    for cpu in gfx90a gfx1030; do
        # shellcheck disable=SC2086 # the options are words, as the driver splits them
        if "$clang" -x cl -target amdgcn-amd-amdhsa -mcpu=$cpu --rocm-device-lib-path="$bitcode" \
            -Xclang -finclude-default-header -D__OPENCL_VERSION__=120 -O3 \
            -Rpass-analysis=kernel-resource-usage $opts -o "$tmp/out.o" "$src" > "$tmp/log" 2>&1; then
            # the largest figures over the program's kernels
            sum=$(awk '{x = $(NF - 1) + 0} / VGPRs: /{v = x > v ? x : v} /VGPRs Spill: /{s = x > s ? x : s}
                       /LDS Size \[bytes\/block\]: /{l = x > l ? x : l}
                       END{printf "VGPRs %d, VGPR spills %d, local memory %d bytes", v, s, l}' "$tmp/log")
            echo "ok    $name $cpu: $sum"
        else
            echo "FAIL  $name $cpu ($opts):"
            grep -E "error" "$tmp/log" | head -n 5
            status=1
        fi
    done
done
if [ "$programs" -eq 0 ]; then
    echo "FAIL  the conformance run built no program"
    exit 1
fi
echo "amdgcn_check: $programs programs, each for gfx90a and gfx1030: $([ $status -eq 0 ] && echo ok || echo FAILED)"
exit $status
