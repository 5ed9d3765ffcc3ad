#!/usr/bin/env bash
# CI stage: the OpenCL conformance on Intel's CPU OpenCL runtime, the one runtime at hand
# that offers subgroups (cl_intel_subgroups, cl_intel_required_subgroup_size), so that the
# family opencl.attn.subgroup and the tiled decode's subgroup shuffles run and are checked, not
# only compiled.
#
#   .ci/intel-opencl.sh [BUILD_DIR]     (default: build, as left by ./run.sh test)
#
# Installs the runtime from PyPI (pip download of pinned wheels, unzipped under
# BUILD_DIR/intel-opencl; nothing installed system-wide: the ICD loader finds it through
# OCL_ICD_VENDORS), then runs every conformance case on it with every OpenCL family forced by
# name in turn. Fails on any failure, on a runtime that cannot be downloaded or does not load
# (no skip: CI needs the network for apt-get anyway), and when the subgroup family or the tiled
# decode with subgroups ran no case.
#
# Measured on the 2-core development machine (AMD EPYC, shared), 2026-12-03, twice from nothing
# installed: 171 s and 198 s in all, of which the conformance (the whole matrix, 794 results)
# 164 s and 192 s, the download and unzip of the three wheels (800 MiB unzipped) 6-7 s. The quick
# set would take about 25 s; the whole matrix fits the stage's 4 minutes and checks every layout.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
[ -d "$build" ] || { echo "intel-opencl: build directory $build does not exist (run ./run.sh test first)" >&2; exit 1; }
build=$(cd "$build" && pwd)
conformance=$build/conformance/elattn-conformance
run=$build/conformance/elattn-run
for exe in "$conformance" "$run"; do
    [ -x "$exe" ] || { echo "intel-opencl: $exe is missing: build with -Dopencl=enabled -Dtests=true first" >&2; exit 1; }
done
[ "$(uname -m)" = x86_64 ] || { echo "intel-opencl: Intel's CPU runtime is x86_64 only, this is $(uname -m)" >&2; exit 1; }

# The versions the README's results name; the tile table's CPU subgroup rows were measured on them.
wheels=(intel-opencl-rt==2026.2.0 intel-cmplr-lib-rt==2026.2.0 tbb==2023.2.0)
root=$build/intel-opencl
lib_ocl=$root/x/intel_opencl_rt-2026.2.0.data/data/lib
lib_rt=$root/x/intel_cmplr_lib_rt-2026.2.0.data/data/lib
lib_tbb=$root/x/tbb-2023.2.0.data/data/lib

if [ ! -f "$lib_ocl/libintelocl.so" ] || [ ! -f "$lib_rt/libimf.so" ] || [ ! -f "$lib_tbb/libtbb.so.12" ]; then
    if ! python3 -m pip --version >/dev/null 2>&1; then
        echo "intel-opencl: installing python3-pip (for pip download; nothing is pip-installed)"
        sudo=""
        [ "$(id -u)" -ne 0 ] && sudo=sudo
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 install -y python3-pip >/dev/null
    fi
    rm -rf "$root"
    mkdir -p "$root/wheels" "$root/x"
    # pip download only fetches files, so Debian's externally managed Python does not object.
    python3 -m pip download --no-deps --only-binary=:all: --disable-pip-version-check -q \
        -d "$root/wheels" "${wheels[@]}" ||
        { echo "intel-opencl: FAILED: pip download of ${wheels[*]} (network or PyPI); the runtime is not installed" >&2; exit 1; }
    python3 - "$root/wheels" "$root/x" <<'PY'
import pathlib, sys, zipfile
for w in sorted(pathlib.Path(sys.argv[1]).glob("*.whl")):
    zipfile.ZipFile(w).extractall(sys.argv[2])
PY
    for f in "$lib_ocl/libintelocl.so" "$lib_rt/libimf.so" "$lib_tbb/libtbb.so.12"; do
        [ -f "$f" ] || { echo "intel-opencl: FAILED: $f is not in the wheels (a new wheel layout?)" >&2; exit 1; }
    done
    rm -rf "$root/wheels" # the unzipped tree (about 1 GiB) is the cache; the wheels are not needed again
fi

# Only Intel's runtime is visible, so it is opencl:0. libintelocl.so finds its own directory
# (RUNPATH $ORIGIN); the compiler runtime and TBB come from the other two wheels.
mkdir -p "$root/vendors"
echo "$lib_ocl/libintelocl.so" >"$root/vendors/intel-cpu.icd"
export OCL_ICD_VENDORS=$root/vendors
export LD_LIBRARY_PATH=$lib_tbb:$lib_rt${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

list=$("$run" --list 2>&1) || true
device=$(grep '^opencl:0 ' <<<"$list" || true)
if ! grep -q 'Intel(R) Corporation' <<<"$device"; then
    echo "$list" >&2
    ldd "$lib_ocl/libintelocl.so" | grep 'not found' >&2 || true
    echo "intel-opencl: FAILED: Intel's CPU runtime is not opencl:0: the ICD loader did not load $lib_ocl/libintelocl.so" \
        "(above: the devices found, and any library ldd cannot find)" >&2
    exit 1
fi
echo "intel-opencl: $device"

log=$build/conformance-intel-opencl.log
start=$SECONDS
"$conformance" --backend opencl:0 >"$log" 2>&1 || { cat "$log"; echo "intel-opencl: FAILED (log: $log)" >&2; exit 1; }
# The point of this stage: the subgroup family must have run, not only been listed.
ran=$(grep -c ' PASS .*kernel=opencl\.attn\.subgroup\.' "$log" || true)
if [ "$ran" -eq 0 ]; then
    grep 'attn.subgroup' "$log" | head -n 5
    echo "intel-opencl: FAILED: opencl.attn.subgroup ran no case on Intel's runtime (log: $log)" >&2
    exit 1
fi
# So must the tiled decode with its lane sums by subgroup shuffles (kernel names ending .sg<width>).
ran_decode=$(grep -c ' PASS .*kernel=opencl\.decode\.tiled\.[^ /]*\.sg[0-9]*/' "$log" || true)
if [ "$ran_decode" -eq 0 ]; then
    grep 'decode.tiled' "$log" | head -n 5
    echo "intel-opencl: FAILED: opencl.decode.tiled ran no case with subgroup shuffles on Intel's runtime (log: $log)" >&2
    exit 1
fi
tail -n 1 "$log"
echo "intel-opencl: opencl.attn.subgroup passed $ran cases, opencl.decode.tiled with subgroups $ran_decode;" \
    "conformance took $((SECONDS - start)) s"

# The random draws of the other devices' meson tests (conformance-*-random), with a tile shape drawn
# per attention case (--random-tiles): the one place in CI where they meet the subgroup family.
log=$build/conformance-intel-opencl-random.log
start=$SECONDS
"$conformance" --backend opencl:0 --random 40 --seed 20261205 --random-tiles >"$log" 2>&1 ||
    { cat "$log"; echo "intel-opencl: random draws FAILED (log: $log)" >&2; exit 1; }
tail -n 1 "$log"
echo "intel-opencl: 40 random draws took $((SECONDS - start)) s"

# The programs an Intel GPU would build (ELATTN_OPENCL_DEVICE_CLASS=intel: its tile rows and kernel
# forms, at this runtime's subgroup widths), checked here against the reference and compiled by
# ocloc, Intel's GPU compiler, for Xe-LP and Xe-HPG (kernels/opencl/gpu_compile_check.sh): the
# quick set and the decode group, about 3 minutes. It must run here (no skip).
# ocloc is Debian's intel-opencl-icd's, unpacked under the build, not installed (.ci/run says why);
# its compiler libraries come from the libigc1 and libigdfcl1 packages.
start=$SECONDS
oc=$build/ocloc
if [ ! -x "$oc/usr/bin/ocloc" ]; then
    rm -rf "$oc"
    mkdir -p "$oc"
    (cd "$oc" && apt-get download intel-opencl-icd >/dev/null 2>&1 && dpkg -x intel-opencl-icd_*.deb .) ||
        { echo "intel-opencl: FAILED: apt-get download intel-opencl-icd (for ocloc)" >&2; exit 1; }
fi
OCLOC=$oc/usr/bin/ocloc LD_LIBRARY_PATH=$oc/usr/lib/x86_64-linux-gnu:$LD_LIBRARY_PATH \
    sh kernels/opencl/gpu_compile_check.sh intel "$conformance" "--quick" "--case decode/" \
    >"$build/gpu-compile-intel.log" 2>&1 ||
    { cat "$build/gpu-compile-intel.log"; echo "intel-opencl: the Intel GPU compile check FAILED or skipped" >&2; exit 1; }
grep -v '^ok ' "$build/gpu-compile-intel.log"
echo "intel-opencl: the Intel GPU compile check took $((SECONDS - start)) s"

# The AMD GPU compile check here too (meson test opencl-amd-compile runs it on PoCL, which has no
# subgroups): this runtime's subgroups are the one way to build the subgroup family's programs with
# AMD's choices, at each wavefront width (ELATTN_OPENCL_DEVICE_CLASS=amd:64 and amd:32; this runtime
# lists both as subgroup widths, so the programs run here at that width and are checked against the
# reference), and clang compiles the wave64 ones for gfx90a and the wave32 ones for gfx1030. It found
# that family's programs, built at OpenCL C 1.2, did not compile for AMD (no subgroup functions
# there); they are built at 2.0 or 3.0 since. About 3 minutes; it must run here (no skip).
start=$SECONDS
sh kernels/opencl/gpu_compile_check.sh amd "$conformance" "--quick" "--case decode/" >"$build/gpu-compile-amd-subgroups.log" 2>&1 ||
    { cat "$build/gpu-compile-amd-subgroups.log"; echo "intel-opencl: the AMD GPU compile check on this runtime FAILED or skipped" >&2; exit 1; }
for wave in 64 32; do
    grep -qE "amd:$wave's choices \([1-9][0-9]* of the subgroup family\)" "$build/gpu-compile-amd-subgroups.log" ||
        { echo "intel-opencl: the AMD GPU compile check built no wave$wave subgroup-family program (log: $build/gpu-compile-amd-subgroups.log)" >&2; exit 1; }
done
grep -v '^ok ' "$build/gpu-compile-amd-subgroups.log"
echo "intel-opencl: the AMD GPU compile check (subgroup family included) took $((SECONDS - start)) s"
