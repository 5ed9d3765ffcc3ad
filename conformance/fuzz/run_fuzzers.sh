#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each one for a
# bounded number of executions, from the seed corpus in the repository.
#
#   conformance/fuzz/run_fuzzers.sh [BUILD_DIR]      default: build-fuzz
#
# Fails (exit 1) on any finding: a crash, a sanitizer report, a leak, a
# timeout, an out-of-memory, a FINDING from a target's own checks, or a target
# that did not complete its executions within its time bound. Prints each
# target's execution count. Findings are kept in BUILD_DIR/fuzz-artifacts/.
#
# FUZZ_RUNS (default 100000) executions per target; FUZZ_TIME (default 300)
# seconds per target at most; FUZZ_TARGETS (default: all four) a subset.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build-fuzz}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
runs=${FUZZ_RUNS:-100000}
time_bound=${FUZZ_TIME:-300}
targets=${FUZZ_TARGETS:-fuzz_npy fuzz_elattn_run fuzz_api fuzz_safetensors}

if [ ! -f "$build/build.ninja" ]; then
    # A build of its own: clang for libFuzzer, the reference backend only (the
    # targets run on it), a shared library without -Wl,--no-undefined (ASan's
    # runtime comes with the executables).
    CC=clang meson setup "$build" -Dfuzz=true -Dcuda=disabled -Dhip=disabled -Dopencl=disabled \
        -Dtests=false -Dbench=false -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized
fi
ninja -C "$build" -j"$(nproc)" $(for t in $targets; do echo "conformance/fuzz/$t"; done)

# Leaks are findings (LeakSanitizer runs at the end of each input's process
# lifetime check); UBSan stops at the first report.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

status=0
for t in $targets; do
    case "$t" in
    fuzz_npy) seeds=npy max_len=4096 dict="$here/npy.dict" ;;
    fuzz_elattn_run) seeds=elattn_run max_len=16384 dict="$here/elattn_run.dict" ;;
    fuzz_api) seeds=api max_len=2048 dict="" ;;
    fuzz_safetensors) seeds=safetensors max_len=4096 dict="$here/safetensors.dict" ;;
    *) echo "run_fuzzers.sh: unknown target $t" >&2; exit 2 ;;
    esac
    corpus="$work/$t"
    mkdir -p "$corpus"
    log="$build/$t.log"
    start=$(date +%s)
    set +e
    # The seeds are read, not written: new inputs go to a scratch corpus.
    "$build/conformance/fuzz/$t" "$corpus" "$here/corpus/$seeds" -runs="$runs" -max_total_time="$time_bound" \
        -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$artifacts/$t-" ${dict:+-dict="$dict"} >"$log" 2>&1
    rc=$?
    set -e
    secs=$(($(date +%s) - start))
    done_runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    done_runs=${done_runs:-0}
    counters=$(grep -E '^fuzz_api:' "$log" | tail -n1 || true)
    if [ "$rc" -ne 0 ] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|^FINDING' "$log"; then
        echo "$t: FINDING after $done_runs executions ($secs s); log $log, input in $artifacts/"
        grep -E 'FINDING|ERROR:|runtime error:|SUMMARY|Test unit written' "$log" | head -n 20
        status=1
    elif [ "$done_runs" -lt "$runs" ]; then
        echo "$t: only $done_runs of $runs executions in the $time_bound s bound; log $log"
        status=1
    else
        echo "$t: $done_runs executions in $secs s, no finding (corpus grew to $(ls "$corpus" | wc -l) inputs)"
    fi
    [ -n "$counters" ] && echo "  $counters"
done
exit $status
