#!/usr/bin/env bash
# last call: sanitizers on the new decode code and wgmma (quick), HIP decode, the mma.sync ceiling
set -u
B=build-all; o=$OUT/s7; mkdir -p $o
t0=$SECONDS
(meson setup $B -Dcuda=enabled -Dhip=enabled -Dhip_platform=nvidia -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=true -Dbench=true >/dev/null && ninja -C $B -j16) > $o/build.log 2>&1; echo "build $((SECONDS-t0)) s: $(tail -1 $o/build.log)"
C=$B/conformance/elattn-conformance
for tool in memcheck racecheck; do
  t0=$SECONDS; timeout 80 compute-sanitizer --tool $tool --error-exitcode 99 $C --backend cuda:0 --case decode/ --no-isolate > $o/san-decode-$tool.log 2>&1; echo "decode $tool rc $? $((SECONDS-t0)) s"; grep -E "ERROR SUMMARY|RACECHECK SUMMARY|^conformance:" $o/san-decode-$tool.log
done
t0=$SECONDS; timeout 110 compute-sanitizer --tool racecheck --error-exitcode 99 $C --backend cuda:0 --kernel cuda.attn.wgmma --quick --no-isolate > $o/san-wgmma-racecheck.log 2>&1; echo "wgmma racecheck rc $? $((SECONDS-t0)) s"; grep -E "RACECHECK SUMMARY|^conformance:" $o/san-wgmma-racecheck.log
t0=$SECONDS; timeout 40 $C --backend hip:0 --case decode/ --no-isolate > $o/conf-hip-decode.log 2>&1; echo "hip decode rc $? $((SECONDS-t0)) s"; tail -1 $o/conf-hip-decode.log
timeout 40 meson test -C $B --no-rebuild decode-cuda decode-hip > $o/mtest.log 2>&1; grep -E "decode-(cuda|hip)" $o/mtest.log
timeout 60 $B/bench/elattn-bench --set paper --device cuda:0 --kernel cuda.attn.mma --lens 8192 --mix dense,fa-ssa:0.75 --dtype bf16 --head-dim 64,128 --no-check --no-router --no-serial --max-reps 5 > $o/bench-cuda-mma.txt 2>&1; grep -E "^bf16" $o/bench-cuda-mma.txt | cut -c1-100
cd $OUT && tar czf s7.tgz s7
