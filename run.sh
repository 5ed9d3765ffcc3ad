#!/usr/bin/env bash
# The two commands of the README. Each does all set-up on a fresh Debian machine.
#   ./run.sh main   build, then run the short benchmark on the best available device
#   ./run.sh test   build, then run every test (reference checks, conformance on every
#                   backend present, CLI round trip, benchmark smoke test)
# BUILD_DIR (default build) and MESON_ARGS (extra meson options) may be set.
set -euo pipefail
cd "$(dirname "$0")"
BUILD_DIR=${BUILD_DIR:-build}

install_deps() {
    local pkgs=(meson ninja-build pkg-config gcc g++ ocl-icd-opencl-dev opencl-headers
                pocl-opencl-icd clinfo hipcc python3)
    local missing=()
    for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if ((${#missing[@]})); then
        local sudo=""
        [ "$(id -u)" -ne 0 ] && sudo=sudo
        echo "run.sh: installing ${missing[*]}"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    python3 -c 'import numpy, matplotlib' 2>/dev/null ||
        python3 -m pip install -q numpy matplotlib
}

build() {
    if [ ! -f "$BUILD_DIR/build.ninja" ]; then
        # shellcheck disable=SC2086
        meson setup "$BUILD_DIR" ${MESON_ARGS:-}
    fi
    ninja -C "$BUILD_DIR" -j"$(nproc)"
}

case "${1:-}" in
main)
    install_deps
    build
    bash bench/run_main.sh "$BUILD_DIR"
    ;;
test)
    install_deps
    build
    set +e
    meson test -C "$BUILD_DIR" --print-errorlogs --num-processes 1 --timeout-multiplier 3
    rc=$?
    set -e
    # One closing line for people and CI: counts from meson's own log.
    python3 - "$BUILD_DIR/meson-logs/testlog.json" <<'PY'
import json, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r == "OK": passed += 1
    elif r == "SKIP": skipped += 1
    else: failed += 1
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
    exit $rc
    ;;
*)
    echo "usage: $0 main|test" >&2
    exit 2
    ;;
esac
