#!/usr/bin/env bash
# Call 16 (2026-12-03): decode with the run's metadata in the kernel's parameters (B, the working
# tree) against main dea56f8 (A, carried in .base), A B A B in one call; B's decode conformance on
# cuda:0 (both paths: default, and ELATTN_DECODE_UPLOAD_METADATA=1) and hip:0, memcheck; batch-1
# peers; ncu kernel durations at 8K x 1 (clocks not locked).
set -u
o=$OUT/c16; mkdir -p $o
cfgA="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=true -Dbench=true"
cfgB="-Dcuda=enabled -Dhip=enabled -Dhip_platform=nvidia -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=true -Dbench=true"
t0=$SECONDS
(cd .base && meson setup ../build-A $cfgA >/dev/null && ninja -C ../build-A -j8) > $o/buildA.log 2>&1 &
(meson setup build-B $cfgB >/dev/null && ninja -C build-B -j8) > $o/buildB.log 2>&1
wait; echo "builds $((SECONDS-t0)) s: A $(tail -1 $o/buildA.log | cut -c1-60) / B $(tail -1 $o/buildB.log | cut -c1-60)"
C=build-B/conformance/elattn-conformance
timeout 90 $C --backend cuda:0 --case decode/ --no-isolate > $o/conf_B.txt 2>&1; echo "conf B cuda: $(tail -1 $o/conf_B.txt)"
ELATTN_DECODE_UPLOAD_METADATA=1 timeout 90 $C --backend cuda:0 --case decode/ --no-isolate > $o/conf_B_upload.txt 2>&1; echo "conf B cuda upload: $(tail -1 $o/conf_B_upload.txt)"
timeout 90 $C --backend hip:0 --case decode/ --no-isolate > $o/conf_B_hip.txt 2>&1; echo "conf B hip: $(tail -1 $o/conf_B_hip.txt)"
timeout 60 build-B/api/tests/decode_check cuda > $o/decode_check_B.txt 2>&1; echo "decode_check B: rc $? $(tail -1 $o/decode_check_B.txt)"
timeout 150 compute-sanitizer --tool memcheck $C --backend cuda:0 --case decode/ --no-isolate > $o/memcheck_B.txt 2>&1; echo "memcheck B: $(grep -E 'ERROR SUMMARY' $o/memcheck_B.txt | tail -1) / $(tail -1 $o/conf_B.txt)"
db="--device cuda:0 --head-dim 128 --dtype bf16 --lens 8192,32768,131072 --batch 1,16 --mix dense,fa-ssa:0.75 --max-time 0.4"
i=0; for v in A B A B; do i=$((i+1)); timeout 60 build-$v/bench/elattn-decode-bench $db > $o/$v$i.txt 2>&1; echo "== $v$i"; grep -A20 "^results" $o/$v$i.txt | tail -13 | cut -c1-90; done
t0=$SECONDS; LENS=8192,32768,131072 BATCHES=1 MIXES=dense D=128 DTYPE=bf16 BUDGET_S=60 timeout 70 python3 bench/decode_peers.py --out $o > $o/peers.log 2>&1; echo "peers $((SECONDS-t0)) s"; tail -8 $o/peers.log
for v in A B; do
  timeout 60 ncu --clock-control none --kernel-name regex:chunk_kernel --launch-skip 3 --launch-count 1 --section SpeedOfLight build-$v/bench/elattn-decode-bench --device cuda:0 --head-dim 128 --dtype bf16 --lens 8192 --batch 1 --mix dense --min-reps 3 --max-reps 3 > $o/ncu8k_$v.txt 2>&1
  echo "ncu 8K x1 $v: $(grep -E 'Duration|DRAM Throughput' $o/ncu8k_$v.txt | tr -s ' ' | tr '\n' ' ')"
done
nvidia-smi > $o/machine.txt 2>&1
cd $OUT && tar czf c16.tgz c16
