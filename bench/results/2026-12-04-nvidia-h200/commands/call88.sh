#!/usr/bin/env bash
# Call 88 (2026-12-04, fifth session; run on the machine call 87 left warm, carrying .p/ = dc07620 +
# bench/lab/notes/decode/prologue-pages-at-once.patch): compute-sanitizer memcheck and racecheck on
# the decode group with cuda.decode.mma forced. The build lives outside the carried tree (/tmp/bp),
# which the next call's copy would replace.
cd .p && meson setup /tmp/bp -Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=false -Dtests=true >/dev/null && ninja -C /tmp/bp -j16 conformance/elattn-conformance elattn-libs > /tmp/bp.log 2>&1; echo "build $SECONDS s: $(tail -1 /tmp/bp.log | cut -c1-40)"; for t in memcheck racecheck; do timeout 60 compute-sanitizer --tool $t /tmp/bp/conformance/elattn-conformance --backend cuda:0 --case decode/ --kernel cuda.decode.mma --no-isolate > /tmp/$t.txt 2>&1; echo "$t rc=$? at $SECONDS s: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' /tmp/$t.txt | tail -1) / $(tail -1 /tmp/$t.txt | cut -c1-80)"; done
