#!/usr/bin/env bash
# Call 29 (2026-12-03, third session): issue 14 -- decode's merge in one pass over the chunks,
# 16 per batch of loads, what is summed rescaled when a batch raises the largest LSE (N, the working tree) against the two-pass merge of 08f07e8 (A, HEAD carried as .base/);
# N's decode conformance (both CUDA families forced, and hip:0 through the HIP-to-CUDA layer),
# memcheck, A N A N, SDPA's batch-1 decode in the same call, ncu of the chunk kernel.
set -u
o=$OUT/c29; mkdir -p $o
left() { echo $((565 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
git log --oneline -1 > $o/commit.txt 2>&1; git status --short >> $o/commit.txt 2>&1
cfgA="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=false -Dbench=true"
cfgN="-Dcuda=enabled -Dhip=enabled -Dhip_platform=nvidia -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=true -Dbench=true"
(cd .base && meson setup ../build-A $cfgA >/dev/null && ninja -C ../build-A -j6) > $o/buildA.log 2>&1 &
(meson setup build-N $cfgN >/dev/null && ninja -C build-N -j10) > $o/buildN.log 2>&1
wait; echo "builds $SECONDS s: A $(tail -1 $o/buildA.log | cut -c1-50) / N $(tail -1 $o/buildN.log | cut -c1-50)"
C=build-N/conformance/elattn-conformance
for k in cuda.decode.mma cuda.decode.split; do
  timeout $(lim 60) $C --backend cuda:0 --case decode/ --kernel $k --no-isolate > $o/conf-$k.txt 2>&1; echo "conf $k: $(tail -1 $o/conf-$k.txt)"
done
timeout $(lim 60) $C --backend hip:0 --case decode/ --no-isolate > $o/conf-hip.txt 2>&1; echo "conf hip:0: $(tail -1 $o/conf-hip.txt)"
timeout $(lim 60) build-N/api/tests/decode_check cuda > $o/decode_check.txt 2>&1; echo "decode_check cuda: rc $? $(tail -1 $o/decode_check.txt)"
timeout $(lim 120) compute-sanitizer --tool memcheck $C --backend cuda:0 --case decode/ --no-isolate > $o/memcheck.txt 2>&1; echo "memcheck: $(grep -E 'ERROR SUMMARY' $o/memcheck.txt | tail -1) / $(tail -1 $o/memcheck.txt | cut -c1-80)"
db="--device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch 1,16 --mix dense,fa-ssa:0.75 --max-time 0.3"
i=0; for v in A N A N; do i=$((i+1)); timeout $(lim 50) build-$v/bench/elattn-decode-bench $db > $o/$v$i.txt 2>&1; echo "== $v$i: $(grep -A20 '^results' $o/$v$i.txt | grep -E '^ +[0-9]' | awk '{print $1"x"$2"/"$3"="$4}' | tr '\n' ' ')"; done
LENS=8192,32768,131072 BATCHES=1 MIXES=dense D=128 DTYPE=bf16 BUDGET_S=40 timeout $(lim 55) python3 bench/decode_peers.py --out $o > $o/peers.log 2>&1; echo "peers rc=$?"; tail -8 $o/peers.log | cut -c1-150
timeout $(lim 40) ncu --clock-control none --kernel-name regex:chunk_kernel --launch-skip 3 --launch-count 1 --section SpeedOfLight build-N/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens 131072 --batch 1 --mix fa-ssa:0.75 --min-reps 3 --max-reps 3 > $o/ncu-ssa-128k-N.txt 2>&1
timeout $(lim 40) ncu --clock-control none --kernel-name regex:chunk_kernel --launch-skip 3 --launch-count 1 --section SpeedOfLight build-A/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens 131072 --batch 1 --mix fa-ssa:0.75 --min-reps 3 --max-reps 3 > $o/ncu-ssa-128k-A.txt 2>&1
echo "ncu 128K x1 fa-ssa:0.75 A: $(grep -E 'Duration|DRAM Throughput' $o/ncu-ssa-128k-A.txt | tr -s ' ' | tr '\n' ' ') N: $(grep -E 'Duration|DRAM Throughput' $o/ncu-ssa-128k-N.txt | tr -s ' ' | tr '\n' ' ')"
nvidia-smi > $o/machine.txt 2>&1
cd $OUT && tar czf c29.tgz c29
