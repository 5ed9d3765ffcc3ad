#!/usr/bin/env bash
# Call 24 (2026-12-03, second session): call 23's missing row -- peers.py for D64 with 2 FULL KV
# heads ran past its limit there -- with elattn-bench's D64 rows again in the same call.
set -u
o=$OUT/c24; mkdir -p $o
git log --oneline -1 > $o/commit.txt 2>&1
(meson setup build-N -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=false -Dbench=true >/dev/null && ninja -C build-N -j16) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-60)"
timeout 60 build-N/bench/elattn-bench --set paper --device cuda:0 --dtype bf16 --head-dim 64 --lens 8192,32768 --mix dense,fa-ssa:0.75,fa-ssa:0.5,fa-xa:0.75 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05 > $o/bench.txt 2>&1
echo "== ours: $(grep -E '^bf16' $o/bench.txt | awk '{print $2"/"$3"/"$4"="$6}' | tr '\n' ' ')"
d=$o/peers-bf16-d64-nfa2; mkdir -p $d
timeout 300 env DTYPE=bf16 D=64 NFA=2 LENS=8192,32768 OUT=$d python3 shared/tools/peers.py > $d/peers.log 2>&1
echo "peers rc=$? at $SECONDS s"; grep "S=" $d/peers.log | cut -c1-90
nvidia-smi > $o/machine.txt 2>&1
