#!/usr/bin/env bash
# Call 35 (2026-12-03, fourth session): call 34's wgmma-forced conformance stopped for 120 s in
# attn/dtype/full/f16/d128/h6:3/L203 (after 29 cases) with the key-tile records; calls 32 and 33
# had passed all 242 cases. Does it repeat? The working tree of call 34, built alone, then the
# attn/dtype/ group with cuda.attn.wgmma forced over and over, 15 s each (a run takes ~3 s).
set -u
o=$OUT/c35; mkdir -p $o
git log --oneline -1 > $o/commit.txt 2>&1; git status --short >> $o/commit.txt 2>&1
(meson setup build-N -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=false -Dtests=true >/dev/null && ninja -C build-N -j16 conformance/elattn-conformance api/src/libelattn-cuda.so) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-60)"
i=0; hung=0
while [ $SECONDS -lt 118 ]; do i=$((i+1))
  timeout 15 build-N/conformance/elattn-conformance --backend cuda:0 --kernel cuda.attn.wgmma --case attn/dtype/ --no-isolate > $o/run$i.txt 2>&1; rc=$?
  [ $rc -eq 124 ] && hung=$((hung+1)) && echo "run $i: stopped (rc 124) after $(grep -cE 'PASS|UNSUPPORTED' $o/run$i.txt) cases, last: $(tail -1 $o/run$i.txt | cut -c1-110)"
  [ $rc -ne 124 ] && [ $rc -ne 0 ] && echo "run $i: rc $rc $(tail -1 $o/run$i.txt | cut -c1-100)"
done
echo "runs $i, stopped $hung; last summary: $(tail -1 $o/run1.txt | cut -c1-100)"
cd $OUT && tar czf c35.tgz c35
