#!/usr/bin/env bash
# Call 30 (2026-12-03, third session): issue 11 goal 4's second half -- block-sparse attention at
# 100% density against dense: every KV head BLOCK_SPARSE (fa-xa:1) with XAttention's threshold at
# 1.0, so every causal block is kept (ESR 0), beside dense in the same process; two runs.
set -u
o=$OUT/c30; mkdir -p $o
git log --oneline -1 > $o/commit.txt 2>&1; git status --short >> $o/commit.txt 2>&1
(meson setup build-N -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=false -Dbench=true >/dev/null && ninja -C build-N -j16) > $o/build.log 2>&1
echo "build $SECONDS s: $(tail -1 $o/build.log | cut -c1-60)"
for r in 1 2; do
  timeout 100 build-N/bench/elattn-bench --set paper --device cuda:0 --dtype bf16,f16 --head-dim 64,128 --lens 8192,32768 --mix dense,fa-xa:1 --tau 1.0 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05 > $o/bench$r.txt 2>&1
  echo "== run $r: $(grep -E '^(bf16|f16)' $o/bench$r.txt | awk '{print $1"/"$2"/"$3"/"$4"="$6"(ESR "$11")"}' | tr '\n' ' ') $(grep -E '^(bf16|f16)' $o/bench$r.txt | awk '{print $NF}' | sort -u | tr '\n' ' ')"
done
nvidia-smi > $o/machine.txt 2>&1
cd $OUT && tar czf c30.tgz c30
