#!/usr/bin/env bash
# Call 10 (2026-12-03): call 9's hand-over with the head-dim-64 register split back at 24/160
# (call 9 ran 32/152 and was slower): racecheck, wgmma-forced attention conformance, and
# base (82167bd) / new alternated, D64 and D128 bf16, 8K and 32K, dense and fa-ssa:0.75.
set -u
o=$OUT/c10; mkdir -p $o
git worktree add -f /tmp/base 82167bd > /dev/null 2>&1
t0=$SECONDS
(meson setup build-N -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=true -Dbench=true >/dev/null && ninja -C build-N -j10) > $o/buildN.log 2>&1 &
(cd /tmp/base && meson setup build -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=false -Dbench=true >/dev/null && ninja -C build -j6) > $o/buildbase.log 2>&1; wait
echo "builds $((SECONDS-t0)) s: $(tail -1 $o/buildN.log) | $(tail -1 $o/buildbase.log)"
C=build-N/conformance/elattn-conformance
timeout 60 $C --backend cuda:0 --case attn/ --kernel cuda.attn.wgmma --no-isolate > $o/conf_wgmma.txt 2>&1; echo "conf attn/ wgmma forced: $(tail -1 $o/conf_wgmma.txt)"
timeout 60 compute-sanitizer --tool racecheck $C --backend cuda:0 --quick --kernel cuda.attn.wgmma --no-isolate > $o/racecheck.txt 2>&1; echo "racecheck: $(grep -E 'RACECHECK SUMMARY' $o/racecheck.txt | tail -1)"
b() { [ $1 = base ] && E=/tmp/base/build/bench/elattn-bench || E=build-N/bench/elattn-bench
  timeout 60 $E --set paper --device cuda:0 --dtype bf16 --head-dim 64,128 --lens 8192,32768 --mix dense,fa-ssa:0.75 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05 > $o/bench_$1_$2.txt 2>&1
  echo "== $1 ($2)"; grep -E "^bf16" $o/bench_$1_$2.txt | awk '{print $2, $3, $4, $6}' | tr '\n' ';'; echo; }
b base 1; b new 1; b base 2; b new 2
nvidia-smi > $o/machine.txt 2>&1; git diff > $o/working-tree.diff
cd $OUT && tar czf c10.tgz c10
