#!/usr/bin/env bash
# Call 14 (2026-12-03): PARTIAL key tiles of FULL and STREAMING heads masked by each row's visible key
# ranges (elattn_row_key_ranges in the spec: the walk of one row at tile width 1), three compares per
# pair, instead of elattn_pair_visible (head dims below 256). Base is e54f073 (call 13's tree). Racecheck
# (quick set, manyitems), memcheck, wgmma-forced attention conformance, every case on every family,
# and base / new alternated at 8K and 32K, every mix.
set -u
o=$OUT/c14; mkdir -p $o
git worktree add -f /tmp/base e54f073 > /dev/null 2>&1
t0=$SECONDS
(meson setup build-N -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=true -Dbench=true >/dev/null && ninja -C build-N -j10) > $o/buildN.log 2>&1 &
(cd /tmp/base && meson setup build -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=false -Dbench=true >/dev/null && ninja -C build -j6) > $o/buildbase.log 2>&1; wait
echo "builds $((SECONDS-t0)) s: $(tail -1 $o/buildN.log) | $(tail -1 $o/buildbase.log)"
C=build-N/conformance/elattn-conformance
timeout 90 $C --backend cuda:0 --case attn/ --kernel cuda.attn.wgmma --no-isolate > $o/conf_wgmma.txt 2>&1; echo "conf attn/ wgmma forced: $(tail -1 $o/conf_wgmma.txt)"; grep -E "FAIL" $o/conf_wgmma.txt | head -5
for tool in racecheck memcheck; do timeout 90 compute-sanitizer --tool $tool $C --backend cuda:0 --quick --kernel cuda.attn.wgmma --no-isolate > $o/$tool.txt 2>&1; echo "$tool: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' $o/$tool.txt | tail -1) / $(tail -1 $o/$tool.txt)"; grep -m3 -A1 "Race reported\|Hazard" $o/$tool.txt; done
timeout 90 compute-sanitizer --tool racecheck $C --backend cuda:0 --case manyitems --kernel cuda.attn.wgmma --no-isolate > $o/racecheck_many.txt 2>&1; echo "racecheck manyitems: $(grep -E "RACECHECK SUMMARY" $o/racecheck_many.txt | tail -1) / $(tail -1 $o/racecheck_many.txt)"
echo "checks done at $((SECONDS-t0)) s"
b() { [ $1 = base ] && E=/tmp/base/build/bench/elattn-bench || E=build-N/bench/elattn-bench
  timeout 60 $E --set paper --device cuda:0 --dtype bf16 --head-dim 64,128 --lens 8192,32768 --mix dense,fa-ssa:0.75,fa-ssa:0.5,fa-ssa:1 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05 > $o/bench_$1_$2.txt 2>&1
  echo "== $1 ($2)"; grep -E "^bf16" $o/bench_$1_$2.txt | awk '{print $2, $3, $4, $6}' | tr '\n' ';'; echo; }
b base 1; b new 1; b base 2; b new 2
echo "bench done at $((SECONDS-t0)) s"
timeout 150 $C --backend cuda:0 --no-isolate > $o/conf_all.txt 2>&1; echo "conf every case, every family: $(tail -1 $o/conf_all.txt)"; grep -E "FAIL" $o/conf_all.txt | head -5
nvidia-smi > $o/machine.txt 2>&1; git log -1 --format=%H > $o/commit.txt; git diff > $o/working-tree.diff
cd $OUT && tar czf c14.tgz c14
