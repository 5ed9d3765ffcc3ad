#!/usr/bin/env bash
# Call 41: issue 11 goal 3 after calls 36-39, in one call: elattn-bench (bf16, D128, 8K and 32K,
# dense and the hybrid mixes), then peers.py at 32K with 2 FULL KV heads of 8 (SDPA, Flex, the
# serial composition cuDNN FULL + Flex STREAMING). The session's device time allowed one shape.
set -u
o=$OUT/c41; mkdir -p $o
git log --oneline -1 > $o/commit.txt 2>&1; git status --short >> $o/commit.txt 2>&1
(meson setup build -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=false -Dbench=true >/dev/null && ninja -C build -j16) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-40)"
timeout 40 build/bench/elattn-bench --set paper --device cuda:0 --dtype bf16 --head-dim 128 --lens 8192,32768 --mix dense,fa-ssa:0.75,fa-ssa:0.5,fa-xa:0.75 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05 > $o/bench.txt 2>&1
echo "== ours: $(grep -E '^bf16' $o/bench.txt | awk '{print $3"/"$4"="$6}' | tr '\n' ' ')"
d=$o/peers-bf16-d128-nfa2; mkdir -p $d
timeout 150 env DTYPE=bf16 D=128 NFA=2 LENS=32768 OUT=$d python3 shared/tools/peers.py > $d/peers.log 2>&1
echo "peers rc=$? at $SECONDS s: $(grep -E 'S=' $d/peers.log | awk '{print $1, $2, $(NF-8)}' | tr '\n' ';' | cut -c1-400)"
grep -E 'S=' $d/peers.log
nvidia-smi > $o/machine.txt 2>&1
cd $OUT && tar czf c41.tgz c41
