#!/usr/bin/env bash
# Call 15 (2026-12-03): call 14's tree (range masking) against the committed HEAD (e54f073, call 13's
# tree) in one call -- call 14's base worktree was not created -- and SDPA / Flex / the serial
# composition for bf16 D64 at 8K and 32K beside them. No checks (call 14 ran them on this tree).
set -u
o=$OUT/c15; mkdir -p $o
git worktree add -f /tmp/base HEAD > $o/worktree.log 2>&1; echo "base: $(git -C /tmp/base log -1 --format=%h 2>&1) ($(tail -1 $o/worktree.log))"
t0=$SECONDS
(meson setup build-N -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=false -Dbench=true >/dev/null && ninja -C build-N -j8) > $o/buildN.log 2>&1 &
(cd /tmp/base && meson setup build -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=false -Dbench=true >/dev/null && ninja -C build -j8) > $o/buildbase.log 2>&1; wait
echo "builds $((SECONDS-t0)) s: $(tail -1 $o/buildN.log) | $(tail -1 $o/buildbase.log)"
b() { [ $1 = base ] && E=/tmp/base/build/bench/elattn-bench || E=build-N/bench/elattn-bench
  timeout 40 $E --set paper --device cuda:0 --dtype bf16 --head-dim 64,128 --lens 8192,32768 --mix dense,fa-ssa:0.75,fa-ssa:0.5,fa-ssa:1 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05 > $o/bench_$1_$2.txt 2>&1
  echo "== $1 ($2)"; grep -E "^bf16" $o/bench_$1_$2.txt | awk '{print $2, $3, $4, $6}' | tr '\n' ';'; echo; }
b base 1; b new 1; b base 2; b new 2
echo "bench done at $((SECONDS-t0)) s"
mkdir -p $o/peers-bf16-d64; timeout 105 env DTYPE=bf16 D=64 NFA=2 LENS=8192,32768 OUT=$o/peers-bf16-d64 python3 shared/tools/peers.py > $o/peers-bf16-d64/peers.log 2>&1; echo "peers bf16 D64 rc=$? at $((SECONDS-t0)) s"; grep "S=" $o/peers-bf16-d64/peers.log | cut -c1-90
nvidia-smi > $o/machine.txt 2>&1; git log -1 --format=%H > $o/commit.txt; git diff > $o/working-tree.diff
cd $OUT && tar czf c15.tgz c15
