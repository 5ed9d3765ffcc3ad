#!/usr/bin/env bash
# Call 13 (2026-12-03): the consumers decode the next item before the epilogue (its loads overlap
# the output stores). Three builds timed in one call: base a553b25, "mid" = call 12's tree
# (bench/lab/notes/wgmma-scheduler/two-slot-handover.patch, D64 split set back to 32/160 as here)
# and the tree as carried. Checks on the carried tree; then the peers (SDPA cuDNN/flash, Flex,
# serial cuDNN + Flex) for bf16 D64 and D128 at 8K and 32K.
set -u
o=$OUT/c13; mkdir -p $o
git worktree add -f /tmp/base a553b25 > /dev/null 2>&1
git worktree add -f /tmp/mid a553b25 > /dev/null 2>&1
(cd /tmp/mid && git apply $OLDPWD/bench/lab/notes/wgmma-scheduler/two-slot-handover.patch && sed -i 's/kConsumers == 3 ? 24 : 40;/kConsumers == 3 ? 32 : 40;/' kernels/gpu/attn_wgmma.cuh && grep -c "kConsumers == 3 ? 32 : 40" kernels/gpu/attn_wgmma.cuh) > $o/mid.log 2>&1
t0=$SECONDS
(meson setup build-N -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=true -Dbench=true >/dev/null && ninja -C build-N -j8) > $o/buildN.log 2>&1 &
(cd /tmp/mid && meson setup build -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=false -Dbench=true >/dev/null && ninja -C build -j4) > $o/buildmid.log 2>&1 &
(cd /tmp/base && meson setup build -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=false -Dbench=true >/dev/null && ninja -C build -j4) > $o/buildbase.log 2>&1; wait
echo "builds $((SECONDS-t0)) s: $(tail -1 $o/buildN.log) | $(tail -1 $o/buildmid.log) | $(tail -1 $o/buildbase.log) | mid patch: $(tail -1 $o/mid.log)"
C=build-N/conformance/elattn-conformance
timeout 90 $C --backend cuda:0 --case attn/ --kernel cuda.attn.wgmma --no-isolate > $o/conf_wgmma.txt 2>&1; echo "conf attn/ wgmma forced: $(tail -1 $o/conf_wgmma.txt)"; grep -E "FAIL" $o/conf_wgmma.txt | head -5
for tool in racecheck memcheck; do timeout 90 compute-sanitizer --tool $tool $C --backend cuda:0 --quick --kernel cuda.attn.wgmma --no-isolate > $o/$tool.txt 2>&1; echo "$tool: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' $o/$tool.txt | tail -1) / $(tail -1 $o/$tool.txt)"; grep -m3 -A1 "Race reported\|Hazard" $o/$tool.txt; done
timeout 90 compute-sanitizer --tool racecheck $C --backend cuda:0 --case manyitems --kernel cuda.attn.wgmma --no-isolate > $o/racecheck_many.txt 2>&1; echo "racecheck manyitems: $(grep -E "RACECHECK SUMMARY" $o/racecheck_many.txt | tail -1) / $(tail -1 $o/racecheck_many.txt)"
timeout 150 $C --backend cuda:0 --no-isolate > $o/conf_all.txt 2>&1; echo "conf every case, every family: $(tail -1 $o/conf_all.txt)"; grep -E "FAIL" $o/conf_all.txt | head -5
echo "checks done at $((SECONDS-t0)) s"
b() { case $1 in base) E=/tmp/base/build/bench/elattn-bench;; mid) E=/tmp/mid/build/bench/elattn-bench;; *) E=build-N/bench/elattn-bench;; esac
  timeout 60 $E --set paper --device cuda:0 --dtype bf16 --head-dim 64,128 --lens 8192,32768 --mix dense,fa-ssa:0.75,fa-ssa:0.5,fa-ssa:1 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05 --json $o/bench_$1_$2.json > $o/bench_$1_$2.txt 2>&1
  echo "== $1 ($2)"; grep -E "^bf16" $o/bench_$1_$2.txt | awk '{print $2, $3, $4, $6}' | tr '\n' ';'; echo; }
b base 1; b mid 1; b new 1; b base 2; b mid 2; b new 2
echo "bench done at $((SECONDS-t0)) s"
for d in 64 128; do mkdir -p $o/peers-bf16-d$d; timeout 140 env DTYPE=bf16 D=$d NFA=2 LENS=8192,32768 OUT=$o/peers-bf16-d$d python3 shared/tools/peers.py > $o/peers-bf16-d$d/peers.log 2>&1; echo "peers bf16 D$d rc=$? at $((SECONDS-t0)) s"; grep "S=" $o/peers-bf16-d$d/peers.log | cut -c1-90; done
nvidia-smi > $o/machine.txt 2>&1; git log -1 --format=%H > $o/commit.txt; git diff > $o/working-tree.diff
cd $OUT && tar czf c13.tgz c13
