#!/usr/bin/env bash
# Call 12 (2026-12-03): call 11's hand-over (index through the workspace, mbarrier release/acquire)
# with two slots, so the producer hands the next item over as soon as it has issued the last
# item's loads instead of after q_empty (call 11's D64 8K was 0.72 ms against call 8's 0.614).
# Checks on the tree as carried (D64 producer/consumer registers 32/160), then base (a553b25) /
# new alternated, then the same tree rebuilt with the D64 split at 24/160 and timed again.
set -u
o=$OUT/c12; mkdir -p $o
git worktree add -f /tmp/base a553b25 > /dev/null 2>&1
t0=$SECONDS
(meson setup build-N -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=true -Dbench=true >/dev/null && ninja -C build-N -j10) > $o/buildN.log 2>&1 &
(cd /tmp/base && meson setup build -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=false -Dbench=true >/dev/null && ninja -C build -j6) > $o/buildbase.log 2>&1; wait
echo "builds $((SECONDS-t0)) s: $(tail -1 $o/buildN.log) | $(tail -1 $o/buildbase.log)"
C=build-N/conformance/elattn-conformance
timeout 90 $C --backend cuda:0 --case attn/ --kernel cuda.attn.wgmma --no-isolate > $o/conf_wgmma.txt 2>&1; echo "conf attn/ wgmma forced: $(tail -1 $o/conf_wgmma.txt)"; grep -E "FAIL" $o/conf_wgmma.txt | head -5
for tool in racecheck memcheck; do timeout 90 compute-sanitizer --tool $tool $C --backend cuda:0 --quick --kernel cuda.attn.wgmma --no-isolate > $o/$tool.txt 2>&1; echo "$tool: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' $o/$tool.txt | tail -1) / $(tail -1 $o/$tool.txt)"; grep -m3 -A1 "Race reported\|Hazard" $o/$tool.txt; done
timeout 90 compute-sanitizer --tool racecheck $C --backend cuda:0 --case manyitems --kernel cuda.attn.wgmma --no-isolate > $o/racecheck_many.txt 2>&1; echo "racecheck manyitems: $(grep -E "RACECHECK SUMMARY" $o/racecheck_many.txt | tail -1) / $(tail -1 $o/racecheck_many.txt)"
timeout 150 $C --backend cuda:0 --no-isolate > $o/conf_all.txt 2>&1; echo "conf every case, every family: $(tail -1 $o/conf_all.txt)"; grep -E "FAIL" $o/conf_all.txt | head -5
echo "checks done at $((SECONDS-t0)) s"
b() { [ $1 = base ] && E=/tmp/base/build/bench/elattn-bench || E=build-N/bench/elattn-bench
  timeout 60 $E --set paper --device cuda:0 --dtype bf16 --head-dim 64,128 --lens 8192,32768 --mix dense,fa-ssa:0.75,fa-ssa:1 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05 > $o/bench_$1_$2.txt 2>&1
  echo "== $1 ($2)"; grep -E "^bf16" $o/bench_$1_$2.txt | awk '{print $2, $3, $4, $6}' | tr '\n' ';'; echo; }
b base 1; b new32 1; b base 2; b new32 2
sed -i 's/static constexpr int kProducerRegs = kConsumers == 3 ? 32 : 40;/static constexpr int kProducerRegs = kConsumers == 3 ? 24 : 40;/' kernels/gpu/attn_wgmma.cuh
grep -q "kConsumers == 3 ? 24 : 40" kernels/gpu/attn_wgmma.cuh && ninja -C build-N -j16 > $o/build24.log 2>&1; echo "rebuilt 24/160 at $((SECONDS-t0)) s: $(tail -1 $o/build24.log)"
timeout 90 $C --backend cuda:0 --case attn/ --kernel cuda.attn.wgmma --no-isolate > $o/conf_wgmma24.txt 2>&1; echo "conf attn/ wgmma forced (24/160): $(tail -1 $o/conf_wgmma24.txt)"
b new24 1; b base 3; b new24 2
echo "bench done at $((SECONDS-t0)) s"
nvidia-smi > $o/machine.txt 2>&1; git log -1 --format=%H > $o/commit.txt; git diff > $o/working-tree.diff
cd $OUT && tar czf c12.tgz c12
