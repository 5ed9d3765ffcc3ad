#!/usr/bin/env bash
# Call 9 (2026-12-03): the wgmma family with the item hand-over through two slots and one named
# barrier met by bar.sync on both sides (call 8's racecheck reported hazards with arrive/sync):
# conformance (wgmma forced on every attention case; then every case on every family), memcheck
# and racecheck, ours dense and hybrid at 8K/32K/128K, and the D64 peers with a longer limit.
set -u
o=$OUT/c9; mkdir -p $o
t0=$SECONDS
(meson setup build-N -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=true -Dbench=true >/dev/null && ninja -C build-N -j16) > $o/build.log 2>&1
echo "build $((SECONDS-t0)) s: $(tail -1 $o/build.log)"
C=build-N/conformance/elattn-conformance
timeout 100 $C --backend cuda:0 --case attn/ --kernel cuda.attn.wgmma --no-isolate > $o/conf_wgmma.txt 2>&1; echo "conf attn/ wgmma forced: $(tail -1 $o/conf_wgmma.txt)"; grep -E "FAIL" $o/conf_wgmma.txt | head -5
for tool in memcheck racecheck; do timeout 100 compute-sanitizer --tool $tool $C --backend cuda:0 --quick --kernel cuda.attn.wgmma --no-isolate > $o/$tool.txt 2>&1; echo "$tool: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' $o/$tool.txt | tail -1) / $(tail -1 $o/$tool.txt)"; grep -m3 -A1 "Race reported" $o/$tool.txt; done
timeout 150 $C --backend cuda:0 --no-isolate > $o/conf_all.txt 2>&1; echo "conf every case, every family: $(tail -1 $o/conf_all.txt)"; grep -E "FAIL" $o/conf_all.txt | head -5
echo "checks done at $((SECONDS-t0)) s"
timeout 150 build-N/bench/elattn-bench --set paper --device cuda:0 --dtype bf16,f16 --head-dim 64,128 --lens 8192,32768,131072 --mix dense,fa-ssa:0.75,fa-ssa:0.5,fa-ssa:1 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05 --json $o/ours.json > $o/ours.txt 2>&1
grep -E "^(bf16|f16) " $o/ours.txt | awk '{print $1, $2, $3, $4, $6, $8}'
echo "ours done at $((SECONDS-t0)) s"
for dt in bf16 f16; do mkdir -p $o/peers-$dt-d64-nfa2; timeout 115 env DTYPE=$dt D=64 NFA=2 LENS=8192,32768 OUT=$o/peers-$dt-d64-nfa2 python3 shared/tools/peers.py > $o/peers-$dt-d64-nfa2/peers.log 2>&1; echo "peers $dt D64 rc=$? at $((SECONDS-t0)) s"; grep "S=" $o/peers-$dt-d64-nfa2/peers.log | cut -c1-90; done
nvidia-smi > $o/machine.txt 2>&1; git log -1 --format=%H > $o/commit.txt; git diff > $o/working-tree.diff
cd $OUT && tar czf c9.tgz c9
