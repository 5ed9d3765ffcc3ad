#!/usr/bin/env bash
# Call 37: the wgmma family's tile records (the producer alone walks the key tiles), with and
# without the spec's walk precomputing its per-item parts (elattn_walk_init: query blocks, mask
# row, block shift), and with the producer at 40 or 48 registers (head dims 96-256). Builds:
#   A   .base/  main (no records)
#   R   .rec/   records, the spec's walk as on main, producer 40
#   W   tree    records + the precomputing walk, producer 40
#   W48 .w48/   W with the producer at 48
# W: every conformance case on cuda:0 (every family), memcheck + racecheck (wgmma, quick).
# Then D64/D128 dense / every block kept / the paper mixes, A R W W48 twice, alternating.
set -u
o=$OUT/c37; mkdir -p $o
left() { echo $((565 - SECONDS)); }
lim() { local l; l=$(left); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }
cfg="-Dcuda=enabled -Dhip=disabled -Dopencl=disabled -Dnvcc_arch=sm_90a -Dbench=true"
(cd .base && meson setup ../build-A $cfg -Dtests=false >/dev/null && ninja -C ../build-A -j4) > $o/buildA.log 2>&1 &
(cd .rec && meson setup ../build-R $cfg -Dtests=false >/dev/null && ninja -C ../build-R -j4) > $o/buildR.log 2>&1 &
(cd .w48 && meson setup ../build-W48 $cfg -Dtests=false >/dev/null && ninja -C ../build-W48 -j4) > $o/buildW48.log 2>&1 &
(meson setup build-W $cfg -Dtests=true >/dev/null && ninja -C build-W -j5) > $o/buildW.log 2>&1
wait; echo "builds $SECONDS s: $(for v in A R W W48; do tail -1 $o/build$v.log | cut -c1-16; done | tr '\n' ' ')"
C=build-W/conformance/elattn-conformance
timeout $(lim 120) $C --backend cuda:0 --case-timeout 20 > $o/conf-W.txt 2>&1; echo "conf W (every family): $(tail -1 $o/conf-W.txt)"
timeout $(lim 70) compute-sanitizer --tool memcheck $C --backend cuda:0 --kernel cuda.attn.wgmma --quick --no-isolate > $o/memcheck-W.txt 2>&1; echo "memcheck W: $(grep 'ERROR SUMMARY' $o/memcheck-W.txt | tail -1)"
timeout $(lim 70) compute-sanitizer --tool racecheck $C --backend cuda:0 --kernel cuda.attn.wgmma --quick --no-isolate > $o/racecheck-W.txt 2>&1; echo "racecheck W: $(grep -E 'RACECHECK SUMMARY' $o/racecheck-W.txt | tail -1)"
args="--set paper --device cuda:0 --dtype bf16 --lens 8192,32768 --no-check --no-router --no-serial --max-reps 5 --min-time 0.05"
i=0; for v in A R W W48 A R W W48; do i=$((i+1))
  timeout $(lim 40) build-$v/bench/elattn-bench $args --head-dim 64,128 --mix dense,fa-xa:1 --tau 1.0 > $o/full-$v$i.txt 2>&1
  timeout $(lim 40) build-$v/bench/elattn-bench $args --head-dim 64,128 --mix dense,fa-xa:0.75,fa-ssa:0.75 > $o/mix-$v$i.txt 2>&1
  echo "== $v$i: $(cat $o/full-$v$i.txt $o/mix-$v$i.txt | grep -E '^bf16 ' | awk '{print $2"/"$3"/"$4"="$6}' | tr '\n' ' ')"
done
nvidia-smi > $o/machine.txt 2>&1
cd $OUT && tar czf c37.tgz c37
