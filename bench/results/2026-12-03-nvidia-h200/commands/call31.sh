#!/usr/bin/env bash
# Call 31 (2026-12-03, fourth session): walk-lookahead.patch applied (N) against HEAD 590a9c0 carried as .base/ (A).
# The device call for walk-lookahead.patch (issue 11 goal 4: block-sparse attention at 100%
# density within 5% of dense). Run from the repository root with the patch applied (N, the working
# tree) and the tree without it carried as .base/ (A); writes $OUT/wl.tgz.
# Checks on N: every attention case with cuda.attn.wgmma forced, memcheck and racecheck on the
# quick set; then A N A N: dense against every KV head BLOCK_SPARSE with every block kept
# (fa-xa:1 at tau 1.0, ESR 0), and the paper mixes (fa-xa:0.75, fa-ssa:0.75) for regressions;
# ncu of the fa-xa:1 D64 32K launch on both (stall reasons).
set -u
o=$OUT/wl; mkdir -p $o
left() { echo $((565 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git log --oneline -1 > $o/commit.txt 2>&1; git status --short >> $o/commit.txt 2>&1
cfgA="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=false -Dbench=true"
cfgN="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=true -Dbench=true"
(cd .base && meson setup ../build-A $cfgA >/dev/null && ninja -C ../build-A -j7) > $o/buildA.log 2>&1 &
(meson setup build-N $cfgN >/dev/null && ninja -C build-N -j9) > $o/buildN.log 2>&1
wait; echo "builds $SECONDS s: A $(tail -1 $o/buildA.log | cut -c1-50) / N $(tail -1 $o/buildN.log | cut -c1-50)"
C=build-N/conformance/elattn-conformance
timeout $(lim 120) $C --backend cuda:0 --kernel cuda.attn.wgmma --exclude xattn/ --exclude router/ --exclude decode --no-isolate > $o/conf-wgmma.txt 2>&1; echo "conf wgmma: $(tail -1 $o/conf-wgmma.txt)"; grep FAIL $o/conf-wgmma.txt | head -3 | cut -c1-200
timeout $(lim 90) compute-sanitizer --tool memcheck $C --backend cuda:0 --kernel cuda.attn.wgmma --quick --no-isolate > $o/memcheck.txt 2>&1; echo "memcheck: $(grep 'ERROR SUMMARY' $o/memcheck.txt | tail -1)"
timeout $(lim 90) compute-sanitizer --tool racecheck $C --backend cuda:0 --kernel cuda.attn.wgmma --quick --no-isolate > $o/racecheck.txt 2>&1; echo "racecheck: $(grep -E 'RACECHECK SUMMARY|ERROR SUMMARY' $o/racecheck.txt | tail -1)"
args="--set paper --device cuda:0 --dtype bf16 --head-dim 64,128 --lens 8192,32768 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05"
i=0; for v in A N A N; do i=$((i+1))
  timeout $(lim 60) build-$v/bench/elattn-bench $args --mix dense,fa-xa:1 --tau 1.0 > $o/full-$v$i.txt 2>&1
  timeout $(lim 60) build-$v/bench/elattn-bench $args --mix fa-xa:0.75,fa-ssa:0.75 > $o/mix-$v$i.txt 2>&1
  echo "== $v$i: $(cat $o/full-$v$i.txt $o/mix-$v$i.txt | grep -E '^bf16' | awk '{print $2"/"$3"/"$4"="$6}' | tr '\n' ' ')"
done
for v in A N; do
  timeout $(lim 60) ncu --clock-control none --kernel-name regex:attn --launch-skip 6 --launch-count 1 --section SpeedOfLight --section WarpStateStats build-$v/bench/elattn-bench $args --head-dim 64 --lens 32768 --mix fa-xa:1 --tau 1.0 --max-reps 1 --min-reps 1 > $o/ncu-$v.txt 2>&1
  echo "ncu $v: $(grep -E 'Duration|Compute \(SM\) Throughput|Stall' $o/ncu-$v.txt | tr -s ' ' | head -6 | tr '\n' ' ')"
done
nvidia-smi > $o/machine.txt 2>&1
cd $OUT && tar czf wl.tgz wl
