#!/usr/bin/env bash
# Call 7 (2026-12-03): the wgmma attention family with a dynamic persistent scheduler (items
# claimed in list order from a counter) and three consumer warpgroups for head dim 64 (working
# tree, "new") against main 82167bd ("base"): conformance with wgmma forced, memcheck and
# racecheck on the quick set, elattn-bench dense and hybrid, base and new alternated.
set -u
o=$OUT/c7; mkdir -p $o
git worktree add -f /tmp/base 82167bd > /dev/null 2>&1
t0=$SECONDS
(meson setup build-N -Dcuda=enabled -Dhip=enabled -Dhip_platform=nvidia -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=true -Dbench=true -Dlab=true >/dev/null && ninja -C build-N -j10) > $o/buildN.log 2>&1 &
(cd /tmp/base && meson setup build -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=false -Dbench=true -Dlab=false >/dev/null && ninja -C build -j6) > $o/buildbase.log 2>&1; wait
echo "builds $((SECONDS-t0)) s: $(tail -1 $o/buildN.log) | $(tail -1 $o/buildbase.log)"
C=build-N/conformance/elattn-conformance
timeout 150 $C --backend cuda:0 --case attn/ --kernel cuda.attn.wgmma --no-isolate > $o/conf_wgmma.txt 2>&1; echo "conf attn wgmma forced: $(tail -1 $o/conf_wgmma.txt)"; grep -E "FAIL" $o/conf_wgmma.txt | head -5
timeout 60 $C --backend hip:0 --quick --no-isolate > $o/conf_hip_quick.txt 2>&1; echo "conf hip:0 quick: $(tail -1 $o/conf_hip_quick.txt)"
for tool in memcheck racecheck; do timeout 100 compute-sanitizer --tool $tool $C --backend cuda:0 --quick --kernel cuda.attn.wgmma --no-isolate > $o/$tool.txt 2>&1; echo "$tool: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' $o/$tool.txt | tail -1) / $(tail -1 $o/$tool.txt)"; done
echo "conformance etc. done at $((SECONDS-t0)) s"
b() { # b VERSION D -> elattn-bench dense + hybrid mixes at 8K, 32K, 128K
  [ $1 = base ] && E=/tmp/base/build/bench/elattn-bench || E=build-N/bench/elattn-bench
  timeout 120 $E --set paper --device cuda:0 --dtype bf16 --head-dim $2 --lens 8192,32768,131072 --mix dense,fa-ssa:0.75,fa-ssa:0.5,fa-ssa:1 --no-check --no-router --no-serial --max-reps 3 --min-time 0 > $o/bench_$1_d$2_$3.txt 2>&1
  echo "== $1 D$2 ($3)"; grep -E "^bf16" $o/bench_$1_d$2_$3.txt | awk '{print $3, $4, $6, $8}' | tr '\n' ';'; echo; }
for D in 64 128; do b base $D 1; b new $D 1; b base $D 2; b new $D 2; echo "at $((SECONDS-t0)) s"; done
nvidia-smi > $o/machine.txt 2>&1; git log -1 --format=%H > $o/commit.txt; git diff > $o/working-tree.diff
cd $OUT && tar czf c7.tgz c7
