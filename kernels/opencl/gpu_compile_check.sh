#!/bin/sh
# Compile-check the OpenCL programs an AMD or Intel GPU would build, without such a GPU.
#
# The conformance runner runs on the OpenCL device at hand (opencl:0) with
# ELATTN_OPENCL_DEVICE_CLASS=<vendor>, so the backend makes the choices it makes on that vendor's
# GPUs (the tile rows, work-group sizes and kernel forms of the class;
# backends/opencl/opencl_tuning.c), and every result is checked against the reference as always.
# ELATTN_OPENCL_BUILD_DUMP keeps each program it builds, as the driver gets it, and each is then
# compiled with the options the backend gave it:
#  - amd: by clang for amdgcn-amd-amdhsa, linked with ROCm's device libraries (what ROCm's OpenCL
#    runtime compiles with), in two passes, one per wavefront width (ELATTN_OPENCL_DEVICE_CLASS=amd:64,
#    amd:32, as an AMD GPU answers CL_DEVICE_WAVEFRONT_WIDTH_AMD): the wave64 programs for gfx90a
#    (CDNA2), the wave32 ones for gfx1030 (RDNA2); a line per program and target with its registers,
#    spills and local memory (64 KiB on both: more fails);
#  - intel: by Intel's own GPU compiler (ocloc, Debian's intel-opencl-icd), for tgllp (Xe-LP,
#    integrated) and dg2-g10 (Xe-HPG, Arc). Run on Intel's CPU runtime (.ci/intel-opencl.sh), the
#    one device at hand with subgroups, so the subgroup family and the tiled decode's subgroup
#    shuffles are among the programs, at the subgroup widths that runtime lists (8, 16, 32), which
#    both targets have; not pvc (Xe-HPC), which has no 8-wide subgroups (it lists 16 and 32, and the
#    backend would pick from those there) and so rejects the programs made for width 8. ocloc does
#    not check local memory against a device's.
# A program that does not compile fails the check. Nothing here has run on an AMD or Intel GPU.
# On PoCL (no subgroups) the amd passes build no subgroup-family program; .ci/intel-opencl.sh runs
# them on Intel's CPU runtime too, which lists subgroup widths 4 to 64: there the family's programs
# are made at the wavefront width, run with that width required (cl_intel_required_subgroup_size, so
# the runtime's subgroups are the wavefront's rows the kernel assumes) and checked against the
# reference, then compiled without the attribute, as an AMD driver gets them.
#
# usage: kernels/opencl/gpu_compile_check.sh amd|intel CONFORMANCE [ARGS ...]
#   CONFORMANCE: the elattn-conformance binary of a build with the OpenCL backend; each ARGS is one
#   run's case selection, split into words ("--quick", "--case decode/"; none: the whole matrix).
#   Tools: amd: $CLANG (default clang-15, else clang) and $ROCM_BITCODE (default Debian's
#   rocm-device-libs, /usr/lib/x86_64-linux-gnu/amdgcn/bitcode); intel: $OCLOC (default ocloc).
#   Exit 0 when every program compiles for every target; 77 when a tool or the device is missing.
set -u
vendor=${1:-}
conformance=${2:-}
if [ "$vendor" != amd ] && [ "$vendor" != intel ] || [ -z "$conformance" ]; then
    echo "usage: gpu_compile_check.sh amd|intel CONFORMANCE [ARGS ...]" >&2
    exit 2
fi
shift 2
[ $# -gt 0 ] || set -- ""
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/out"
# builds: one conformance pass each, "CLASS:TARGETS" (TARGETS comma-separated): AMD's wave64 CDNA and
# wave32 RDNA get the programs made at their own wavefront width; Intel's two targets, one set
if [ "$vendor" = amd ]; then
    clang=${CLANG:-$(command -v clang-15 || command -v clang || true)}
    bitcode=${ROCM_BITCODE:-/usr/lib/x86_64-linux-gnu/amdgcn/bitcode}
    builds="amd:64:gfx90a amd:32:gfx1030"
    if [ -z "$clang" ] || ! "$clang" -print-targets 2>/dev/null | grep -q amdgcn || [ ! -f "$bitcode/opencl.bc" ]; then
        echo "gpu_compile_check: skipped (amd needs clang with the AMDGPU target and ROCm's device libraries in $bitcode)"
        exit 77
    fi
else
    ocloc=${OCLOC:-ocloc}
    builds="intel:tgllp,dg2-g10"
    echo 'kernel void probe(global float *x) { x[get_global_id(0)] = 1.0f; }' > "$tmp/probe.cl"
    if ! "$ocloc" compile -file "$tmp/probe.cl" -device tgllp -out_dir "$tmp/out" > "$tmp/log" 2>&1; then
        tail -n 3 "$tmp/log"
        echo "gpu_compile_check: skipped (intel needs a working ocloc, \$OCLOC or on PATH: Debian's intel-opencl-icd, with libigc1 and libigdfcl1)"
        exit 77
    fi
fi
# run_sets CLASS DUMP SETS...: the sets run with that class's choices, each program kept in DUMP
run_sets() {
    class=$1 dump=$2
    shift 2
    mkdir "$dump"
    for set in "$@"; do
        # shellcheck disable=SC2086 # a case selection is words
        ELATTN_OPENCL_DEVICE_CLASS=$class ELATTN_OPENCL_BUILD_DUMP="$dump" \
            "$conformance" --backend opencl:0 --allow-missing $set > "$tmp/conformance.txt" 2>&1
        rc=$?
        echo "conformance ${set:-(the matrix)} with $class's choices: $(tail -n 1 "$tmp/conformance.txt")"
        if [ "$rc" -eq 77 ]; then
            echo "gpu_compile_check: skipped (no OpenCL device)"
            exit 77
        fi
        if [ "$rc" -ne 0 ]; then
            grep -E " FAIL " "$tmp/conformance.txt" | head -n 20
            echo "FAIL  the conformance run with $class's choices (exit $rc)"
            exit 1
        fi
    done
}

# compile SOURCE TARGET OPTIONS: 0 when it compiles; the compiler's output in $tmp/log
compile() {
    if [ "$vendor" = amd ]; then
        # shellcheck disable=SC2086 # the options are words, as the driver splits them
        # the runtime defines __OPENCL_VERSION__ (the device's); clang does not: the program's -cl-std
        version=$(echo "$3" | sed -n 's/.*-cl-std=CL\([0-9]\)\.\([0-9]\).*/\1\20/p')
        "$clang" -x cl -target amdgcn-amd-amdhsa -mcpu="$2" --rocm-device-lib-path="$bitcode" \
            -Xclang -finclude-default-header -D__OPENCL_VERSION__="${version:-120}" -O3 \
            -Rpass-analysis=kernel-resource-usage $3 -o "$tmp/out/a.o" "$1" > "$tmp/log" 2>&1
    else
        "$ocloc" compile -file "$1" -device "$2" -options "$3" -out_dir "$tmp/out" > "$tmp/log" 2>&1
    fi
}

status=0 summary=""
for build in $builds; do
    class=${build%:*} targets=$(echo "${build##*:}" | tr , ' ')
    dump="$tmp/dump-$(echo "$class" | tr : -)"
    run_sets "$class" "$dump" "$@"
    programs=0
    for src in "$dump"/*.cl; do
        [ -f "$src" ] || continue
        opts=$(cat "${src%.cl}.opts")
        # the required subgroup width is how a host runtime's subgroups are made a wavefront's rows
        # (opencl_attn.c); an AMD GPU's subgroups are its wavefronts, and its driver gets no attribute
        [ "$vendor" = amd ] && opts=$(echo "$opts" | sed 's/ -DELATTN_INTEL_REQD_SUBGROUP=1//')
        name=$(basename "${src%.cl}")
        programs=$((programs + 1))
        for target in $targets; do
            if compile "$src" "$target" "$opts"; then
                figures=""
                [ "$vendor" = amd ] && figures=": $(awk '{x = $(NF - 1) + 0} / VGPRs: /{v = x > v ? x : v}
                    /VGPRs Spill: /{s = x > s ? x : s} /LDS Size \[bytes\/block\]: /{l = x > l ? x : l}
                    END{printf "VGPRs %d, VGPR spills %d, local memory %d bytes", v, s, l}' "$tmp/log")"
                echo "ok    $name $target$figures"
            else
                echo "FAIL  $name $target ($opts):"
                grep -iE "error" "$tmp/log" | head -n 5
                status=1
            fi
        done
    done
    if [ "$programs" -eq 0 ]; then
        echo "FAIL  the conformance runs with $class's choices built no program"
        exit 1
    fi
    subgroup=$(grep -l -e '-DELATTN_SUBGROUP=' "$dump"/*.opts | wc -l)
    # an AMD pass's subgroup programs are made at its wavefront width, or the pass checked nothing
    case $class in
    amd:*) if grep -l -e '-DELATTN_SUBGROUP=' "$dump"/*.opts | xargs -r grep -L -E -e "-DELATTN_SUBGROUP=${class#amd:}( |\$)" | grep -q .; then
            echo "FAIL  a subgroup-family program of the $class pass is not at width ${class#amd:}"
            status=1
        fi ;;
    esac
    summary="$summary${summary:+; }$programs programs with $class's choices ($subgroup of the subgroup family), each for $targets"
done
echo "gpu_compile_check: $vendor, $summary: $([ $status -eq 0 ] && echo ok || echo FAILED)"
exit $status
