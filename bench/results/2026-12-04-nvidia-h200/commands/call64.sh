#!/usr/bin/env bash
# Call 64 (2026-12-04, second session): the session's last tree (efb7051) on cuda:0: the invalid-objects
# conformance group (the decode batch rows), decode conformance, and the meson tests decode-graph,
# decode-cuda, graph-capture and python-decode-graph (torch, 4K x 1, 20 steps).
set -u
o=$OUT/c64; mkdir -p $o; f=$o/c64.txt
git status --short > $o/tree.txt 2>&1; git log --oneline -1 >> $o/tree.txt
(meson setup build-N -Dcuda=enabled -Dopencl=disabled -Dhip=disabled -Dnvcc_arch=sm_90a -Dbench=false -Dtests=true >/dev/null && ninja -C build-N -j16) > $o/buildN.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/buildN.log | cut -c1-30)" >> $f
C=build-N/conformance/elattn-conformance
timeout 60 $C --backend cuda:0 --case invalid/ > $o/conf-invalid.txt 2>&1; echo "conf invalid: $(tail -1 $o/conf-invalid.txt)" >> $f
timeout 60 $C --backend cuda:0 --case decode/ > $o/conf-decode.txt 2>&1; echo "conf decode: $(tail -1 $o/conf-decode.txt)" >> $f
(cd build-N && timeout 200 meson test decode-graph decode-cuda graph-capture python-decode-graph --print-errorlogs) > $o/mtest.txt 2>&1
grep -E "^ *[0-9]+/[0-9]+ " $o/mtest.txt >> $f
cp build-N/meson-logs/testlog.txt $o/testlog.txt 2>/dev/null
cat $f; cd $OUT && tar czf c64.tgz c64
