#!/usr/bin/env bash
# The two commands of the README. Each does all set-up on a fresh Debian machine.
#   ./run.sh main   build, then run the short benchmark on the best available device
#   ./run.sh test   build, then run every test (reference checks, conformance on every
#                   backend present, CLI round trip, benchmark smoke test)
# BUILD_DIR (default build) and MESON_ARGS (extra meson options) may be set;
# EXTRA_PKGS adds Debian packages to install (.ci/run: clang for the fuzz targets);
# APT_WAIT (default 300) bounds, in seconds, the wait for another apt or dpkg.
#
# Python packages come from Debian (python3-numpy, python3-matplotlib), never
# from pip: Debian's Python is externally managed. meson takes the first
# python3 that can import NumPy (PATH, then /usr/bin/python3).
set -euo pipefail
cd "$(dirname "$0")"
BUILD_DIR=${BUILD_DIR:-build}
APT_WAIT=${APT_WAIT:-300}

# apt-get that waits, up to APT_WAIT seconds in all, for an apt or dpkg that
# holds the locks. DPkg::Lock::Timeout covers dpkg's lock (install); the lists
# lock that `apt-get update` takes is not covered by it, so that is retried.
apt_get() {
    local sudo="" deadline=$((SECONDS + APT_WAIT)) out rc
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    while :; do
        set +e
        out=$($sudo env DEBIAN_FRONTEND=noninteractive apt-get -q \
            -o DPkg::Lock::Timeout=$((deadline > SECONDS ? deadline - SECONDS : 0)) "$@" 2>&1)
        rc=$?
        set -e
        [ "$rc" -eq 0 ] && return 0
        if grep -qiE 'could not get lock|unable to (lock|acquire)' <<<"$out" && [ "$SECONDS" -lt "$deadline" ]; then
            echo "run.sh: another apt or dpkg holds its lock; waiting (at most $((deadline - SECONDS)) s more)"
            sleep $((deadline - SECONDS < 5 ? deadline - SECONDS : 5))
            continue
        fi
        echo "$out" >&2
        echo "run.sh: apt-get $* failed (exit $rc)" >&2
        return "$rc"
    done
}

install_deps() {
    # shellcheck disable=SC2206
    local pkgs=(meson ninja-build pkg-config gcc g++ ocl-icd-opencl-dev opencl-headers libclblast-dev
                pocl-opencl-icd clinfo hipcc python3 python3-numpy python3-matplotlib ${EXTRA_PKGS:-})
    local missing=()
    for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if ((${#missing[@]})); then
        echo "run.sh: installing ${missing[*]}"
        apt_get update
        apt_get install -y "${missing[@]}" >/dev/null
    fi
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
