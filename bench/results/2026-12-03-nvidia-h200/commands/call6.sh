#!/usr/bin/env bash
# Call 6 (2026-12-03): after the mend (the reshape positions from the spec, the selection's tie walk
# from the first tie to the last): XAttention conformance on cuda:0 and hip:0 (every family),
# memcheck, full-size checks, and the estimation + selection beside a build of 90de884, with ncu's
# kernel durations at 128K for both builds.
set -u
o=$OUT/c6; mkdir -p $o
git worktree add -f /tmp/base 90de884 > /dev/null 2>&1
t0=$SECONDS
(meson setup build-N -Dcuda=enabled -Dhip=enabled -Dhip_platform=nvidia -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=true -Dbench=true -Dlab=true >/dev/null && ninja -C build-N -j10) > $o/buildN.log 2>&1 &
(cd /tmp/base && meson setup build -Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dtests=false -Dbench=true -Dlab=true >/dev/null && ninja -C build -j6) > $o/buildbase.log 2>&1; wait
echo "builds $((SECONDS-t0)) s: $(tail -1 $o/buildN.log) | $(tail -1 $o/buildbase.log)"
C=build-N/conformance/elattn-conformance
for b in cuda:0 hip:0; do timeout 90 $C --backend $b --case xattn/ --no-isolate > $o/conf_${b%:0}.txt 2>&1; echo "conf xattn $b: $(tail -1 $o/conf_${b%:0}.txt)"; grep FAIL $o/conf_${b%:0}.txt | head -3; done
timeout 100 compute-sanitizer --tool memcheck $C --backend cuda:0 --case xattn/ --no-isolate > $o/memcheck.txt 2>&1; echo "memcheck (every family): $(grep 'ERROR SUMMARY' $o/memcheck.txt | tail -1) / $(tail -1 $o/memcheck.txt)"
L=build-N/bench/lab/elattn-lab-xattn; LB=/tmp/base/build/bench/lab/elattn-lab-xattn
common="--device cuda:0 --dtype bf16 --causal 1 --block 128 --tau 0.9"
for args in "--head-dim 128 --hq 8 --hkv 2 --lq 6000 --lk 6000 --stride 16" "--head-dim 64 --hq 8 --hkv 2 --lq 5000,3001 --lk 5000,3001 --stride 8" "--head-dim 128 --hq 4 --hkv 4 --lq 4100 --lk 4100 --stride 4"; do
  timeout 60 $L $common $args --check 1 --check-len 6000 --iters 1 2>&1 | grep -oE "status=[a-z]+|kernel=[^ ]+|differ=[0-9]+|rows_tolerated=[0-9]+|rows_wrong=[0-9]+" | tr '\n' ' '; echo; done
f() { printf "%-5s D%-3s %-5s " "$1" "$2" "$3"; timeout 60 $4 $common --stride 16 --hq 32 --hkv 8 --head-dim $2 --lq $3 --lk $3 --check 0 --warmup 1 --iters ${ITERS:-5} 2>&1 | grep -oE "ms=[0-9.]+|ms_min=[0-9.]+" | tr '\n' ' '; echo; }
for v in base new base new; do [ $v = base ] && B=$LB || B=$L; f $v 128 32k $B; done
for v in base new base new; do [ $v = base ] && B=$LB || B=$L; ITERS=3 f $v 128 128k $B; done
for v in base new; do [ $v = base ] && B=$LB || B=$L
  timeout 60 ncu --clock-control none --launch-count 3 --section SpeedOfLight $B $common --stride 16 --hq 32 --hkv 8 --head-dim 128 --lq 128k --lk 128k --check 0 --warmup 0 --iters 1 > $o/ncu_128k_$v.txt 2>&1
  echo "== ncu $v"; grep -E "^  [a-z_].*\(|Duration" $o/ncu_128k_$v.txt | sed -E 's/\(xattn.*//; s/<.*//' | cut -c1-60; done
nvidia-smi > $o/machine.txt 2>&1; git log -1 --format=%H > $o/commit.txt
cd $OUT && tar czf c6.tgz c6
